//! How collectors share the async runtime with blocking work (reading a local file, waiting on an
//! encoding thread).

/// Runs blocking work from async code: on a multi-threaded runtime the worker steps aside for it;
/// elsewhere (a current-thread runtime, or none) it simply runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
