//! Inputs: everything that enumerates buffers for the engine.
//!
//! Each input knows how to find and name its buffers (files under a root, blobs in git
//! history, blobs in the index, members of an archive) and hands them to
//! [`crate::scan::Scanner::scan_blob`]. None of them matches anything itself.

pub mod archive;
pub mod fs;
pub mod git;
pub mod image;
pub mod pack;
