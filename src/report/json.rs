//! `--format json` (one document) and `--format jsonl` (one group per line).
//!
//! Both serialise the same [`Report`] model; neither contains a secret value unless the report
//! was built with `--reveal-secrets`.

use super::Report;
use std::io::{self, Write};

pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}

pub fn write_jsonl(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for g in &report.groups {
        serde_json::to_writer(&mut *out, g).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}
