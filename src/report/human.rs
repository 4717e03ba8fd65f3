//! `--format human`: a ranked table a person reads top-down to know what to revoke first.
//!
//! Each secret gets one line (rank, level, score, what it is, redacted value, where) and a
//! "why" line with its strongest reasons. Colour only when writing to a terminal and
//! `NO_COLOR` is unset.

use super::Report;
use crate::blast::Level;
use crate::model::printable as p;
use std::io::{self, Write};

pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn level(&self, l: Level) -> String {
        let text = format!("{:<8}", l.as_str().to_uppercase());
        let code = match l {
            Level::Critical => "1;31",
            Level::High => "31",
            Level::Medium => "33",
            Level::Low => "36",
        };
        self.paint(code, &text)
    }
}

/// How many reasons the "why" line shows.
const TOP_REASONS: usize = 4;
/// How many locations are listed under a group.
const SHOWN_LOCATIONS: usize = 5;

pub fn write(report: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if report.groups.is_empty() {
        writeln!(out, "No secrets found.")?;
    }
    for (i, g) in report.groups.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {} {:>4.1}  {}  {}",
            i + 1,
            style.level(g.blast.level),
            g.blast.score,
            style.paint("1", &p(&g.name)),
            p(&g.secret)
        )?;
        let reasons: Vec<String> = g
            .blast
            .reasons
            .iter()
            .filter(|r| r.weight > 0.0 || r.weight < -0.25)
            .take(TOP_REASONS)
            .map(|r| p(&r.detail).into_owned())
            .collect();
        writeln!(out, "     why: {}", reasons.join("; "))?;
        if !g.companions.is_empty() {
            let c: Vec<String> = g
                .companions
                .iter()
                .map(|c| match c.locations.first() {
                    Some(l) => format!("{} {} at {}", p(&c.rule), p(&c.secret), p(l)),
                    None => format!("{} {}", p(&c.rule), p(&c.secret)),
                })
                .collect();
            writeln!(out, "     with: {}", c.join(", "))?;
        }
        for l in g.locations.iter().take(SHOWN_LOCATIONS) {
            let root = if report_roots(report) > 1 {
                format!("{}:", p(&l.root_name))
            } else {
                String::new()
            };
            let git = match &l.git {
                Some(gi) => format!(
                    "  (commit {} {} by {}{})",
                    p(&gi.commit.chars().take(10).collect::<String>()),
                    p(&gi.date.chars().take(10).collect::<String>()),
                    p(&gi.author),
                    if gi.at_head { "" } else { ", not at HEAD" }
                ),
                None => String::new(),
            };
            writeln!(
                out,
                "     at {}{}:{}:{}{}",
                root,
                p(&l.path),
                l.line,
                l.column,
                git
            )?;
        }
        if g.locations.len() > SHOWN_LOCATIONS {
            writeln!(
                out,
                "     … and {} more locations",
                g.locations.len() - SHOWN_LOCATIONS
            )?;
        }
        writeln!(
            out,
            "     rule {} · revoke: {}",
            p(&g.rule),
            p(&g.remediation)
        )?;
    }
    let s = &report.stats;
    let mb = s.bytes_scanned as f64 / 1e6;
    let secs = s.elapsed_ms as f64 / 1000.0;
    let counts: Vec<String> = ["critical", "high", "medium", "low"]
        .iter()
        .filter_map(|k| {
            report
                .summary
                .get(k)
                .filter(|&&n| n > 0)
                .map(|n| format!("{n} {k}"))
        })
        .collect();
    let what = if s.blobs_scanned > 0 {
        format!("{} blobs", s.blobs_scanned)
    } else {
        format!("{} files", s.files_scanned)
    };
    writeln!(
        out,
        "\n{} secret{}{} in {} location{}; scanned {what} ({mb:.1} MB) in {secs:.2} s",
        report.groups.len(),
        if report.groups.len() == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        report
            .groups
            .iter()
            .map(|g| g.locations.len())
            .sum::<usize>(),
        if report
            .groups
            .iter()
            .map(|g| g.locations.len())
            .sum::<usize>()
            == 1
        {
            ""
        } else {
            "s"
        },
    )?;
    let mut skipped = Vec::new();
    if s.skipped_binary > 0 {
        skipped.push(format!("{} binary", s.skipped_binary));
    }
    if s.skipped_too_large > 0 {
        skipped.push(format!("{} over --max-file-size", s.skipped_too_large));
    }
    if !skipped.is_empty() {
        writeln!(out, "skipped: {}", skipped.join(", "))?;
    }
    let sup = &report.suppressed;
    if sup.total() > 0 {
        writeln!(
            out,
            "suppressed: {} (inline {}, baseline {}, config {})",
            sup.total(),
            sup.inline,
            sup.baseline,
            sup.config
        )?;
    }
    Ok(())
}

fn report_roots(report: &Report) -> usize {
    let mut roots: Vec<usize> = report
        .groups
        .iter()
        .flat_map(|g| g.locations.iter().map(|l| l.root))
        .collect();
    roots.sort_unstable();
    roots.dedup();
    roots.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::{Engine, Scratch};
    use crate::model::Warning;
    use crate::rules::RuleSet;
    use crate::scan::{BlobMeta, ScanOptions, Scanner};
    use std::sync::Arc;

    #[test]
    fn control_characters_are_escaped() {
        // Paths (file and member names), git authors and warnings are anyone's text: an
        // escape sequence in a zip member's name must not reach the terminal.
        let engine = Arc::new(Engine::new(&RuleSet::embedded().unwrap()).unwrap());
        let scanner = Scanner::new(engine.clone(), ScanOptions::default());
        let meta = BlobMeta {
            path: "a.zip!\x1b]0;owned\x07/.env\nfake line",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = scanner
            .scan_blob(
                b"AWS_ACCESS_KEY_ID=AKIAHSPY2JLAWRVAW3DJ\n",
                &meta,
                &mut Scratch::default(),
            )
            .unwrap();
        assert!(!found.is_empty());
        let warning = Warning {
            path: "w\x1b[1A".into(),
            message: "m\x07".into(),
        };
        let rep = crate::report::build(
            &engine,
            found,
            vec![warning],
            Default::default(),
            Default::default(),
            &Default::default(),
        );
        let mut out = Vec::new();
        write(&rep, &Style { color: false }, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("a.zip!\\u{1b}]0;owned\\u{7}/.env\\nfake line:1:"));
        assert_eq!(rep.warnings[0].to_string(), "w\\u{1b}[1A: m\\u{7}");
    }
}
