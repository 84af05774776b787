//! Private scratch folders where bundles and population packs stage the files they zip.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

/// A scratch folder removed when dropped.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    /// A new, private folder under the system temp folder. Created with a random name and
    /// `create_dir` (which fails if anything is already there), mode 0700, so no other user can
    /// plant a folder or a link where the evidence is staged.
    pub(crate) fn new() -> Result<Self> {
        use rand_core::RngCore as _;
        let path = std::env::temp_dir().join(format!("cairn-stage-{:016x}", rand_core::OsRng.next_u64()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).with_context(|| format!("cannot create scratch folder {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
