//! Retries of store operations that failed on the way, not on their merits.
//!
//! The cloud clients retry a request that could not be sent and a 5xx or 429 answer. They do
//! not retry a PUT whose body was cut off (a connection reset mid-upload), and nobody retries a
//! download whose body broke off, or anything on a store without an HTTP client. Every write
//! Cairn makes is safe to repeat — a new object under a fresh key, or a create-if-absent whose
//! repeat is recognised by its bytes — so [`RetryingStore`] repeats any operation that failed
//! with a transport error or a server error, with exponential backoff and jitter, for at most
//! the configured time. An error on its merits (not found, already exists, a precondition,
//! permissions, a bad path) is returned at once.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, Result,
};

/// How long and how often to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Give up once this much time has passed since the first attempt.
    pub budget: Duration,
    /// First wait; doubled after each failure up to `max_wait`.
    pub first_wait: Duration,
    /// Longest wait between attempts.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(180),
            first_wait: Duration::from_millis(200),
            max_wait: Duration::from_secs(15),
        }
    }
}

/// Whether an error is worth another attempt: a transport failure or a server-side error.
pub fn transient(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    match e {
        E::Generic { source, .. } => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
            while let Some(c) = cause {
                if c.downcast_ref::<object_store::client::HttpError>().is_some()
                    || c.downcast_ref::<std::io::Error>().is_some_and(io_transient)
                {
                    return true;
                }
                let text = c.to_string();
                if text.contains("status code: 5") || text.contains("status code: 429") || text.contains("SlowDown") {
                    return true;
                }
                cause = c.source();
            }
            false
        }
        _ => false,
    }
}

fn io_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::Interrupted | K::TimedOut | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof
    )
}

/// Runs `op` until it succeeds, fails on its merits, or the policy's budget is spent.
pub async fn retrying<T, F, Fut>(policy: RetryPolicy, what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut wait = policy.first_wait;
    let mut attempt = 1u32;
    loop {
        match op().await {
            Err(e) if transient(&e) && start.elapsed() + wait < policy.budget => {
                // Up to a quarter more, so many clients backing off do not retry in step.
                let jitter = wait.mul_f64(f64::from(start.elapsed().subsec_nanos() % 1000) / 4000.0);
                tracing::warn!(operation = what, attempt, wait_ms = (wait + jitter).as_millis() as u64, error = %e, "store operation failed on the way; retrying");
                tokio::time::sleep(wait + jitter).await;
                wait = (wait * 2).min(policy.max_wait);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A store whose operations are retried by [`retrying`].
#[derive(Debug)]
pub struct RetryingStore {
    inner: Arc<dyn ObjectStore>,
    policy: RetryPolicy,
}

impl RetryingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

impl std::fmt::Display for RetryingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for RetryingStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        retrying(self.policy, "put", || self.inner.put_opts(location, payload.clone(), opts.clone())).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        retrying(self.policy, "get", || self.inner.get_opts(location, options.clone())).await
    }

    async fn get_range(&self, location: &Path, range: Range<u64>) -> Result<Bytes> {
        retrying(self.policy, "get range", || self.inner.get_range(location, range.clone())).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        retrying(self.policy, "get ranges", || self.inner.get_ranges(location, ranges)).await
    }

    async fn head(&self, location: &Path) -> Result<ObjectMeta> {
        retrying(self.policy, "head", || self.inner.head(location)).await
    }

    async fn delete(&self, location: &Path) -> Result<()> {
        retrying(self.policy, "delete", || self.inner.delete(location)).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        // A listing that breaks off is retried whole by its callers (`Lake::list`).
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        retrying(self.policy, "list", || self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
        retrying(self.policy, "copy", || self.inner.copy(from, to)).await
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
        retrying(self.policy, "copy", || self.inner.copy_if_not_exists(from, to)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use object_store::memory::InMemory;

    use super::*;

    /// Fails the first `failures` calls of every operation with an injected fault.
    #[derive(Debug)]
    struct Faulty {
        inner: InMemory,
        failures: usize,
        calls: AtomicUsize,
        fault: fn() -> object_store::Error,
    }

    fn reset() -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer")),
        }
    }

    fn slow_down() -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 503 Service Unavailable: <Code>SlowDown</Code>".into(),
        }
    }

    fn denied() -> object_store::Error {
        object_store::Error::PermissionDenied { path: "x".into(), source: "403".into() }
    }

    impl std::fmt::Display for Faulty {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Faulty")
        }
    }

    impl Faulty {
        fn fail(&self) -> Result<()> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err((self.fault)());
            }
            Ok(())
        }
    }

    #[async_trait]
    impl ObjectStore for Faulty {
        async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
            self.fail()?;
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            self.fail()?;
            self.inner.get_opts(location, options).await
        }
        async fn delete(&self, location: &Path) -> Result<()> {
            self.fail()?;
            self.inner.delete(location).await
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy(from, to).await
        }
        async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy_if_not_exists(from, to).await
        }
    }

    fn store(failures: usize, fault: fn() -> object_store::Error, budget_ms: u64) -> (RetryingStore, Arc<Faulty>) {
        let faulty = Arc::new(Faulty { inner: InMemory::new(), failures, calls: AtomicUsize::new(0), fault });
        let policy = RetryPolicy {
            budget: Duration::from_millis(budget_ms),
            first_wait: Duration::from_millis(1),
            max_wait: Duration::from_millis(4),
        };
        (RetryingStore::new(faulty.clone(), policy), faulty)
    }

    #[tokio::test]
    async fn resets_and_slow_downs_are_retried_until_they_pass() {
        for fault in [reset as fn() -> object_store::Error, slow_down] {
            let (s, faulty) = store(3, fault, 5_000);
            let path = Path::from("a/b");
            s.put(&path, PutPayload::from_static(b"x")).await.unwrap();
            assert_eq!(faulty.calls.load(Ordering::SeqCst), 4, "three faults, then the write");
            let got = s.get(&path).await.unwrap().bytes().await.unwrap();
            assert_eq!(&got[..], b"x");
        }
    }

    #[tokio::test]
    async fn a_store_that_stays_down_fails_once_the_budget_is_spent() {
        let (s, faulty) = store(usize::MAX, reset, 50);
        let err = s.put(&Path::from("a"), PutPayload::from_static(b"x")).await.unwrap_err();
        assert!(transient(&err), "{err}");
        assert!(faulty.calls.load(Ordering::SeqCst) > 2);
    }

    #[tokio::test]
    async fn errors_on_their_merits_are_not_retried() {
        let (s, faulty) = store(usize::MAX, denied, 5_000);
        assert!(s.put(&Path::from("a"), PutPayload::from_static(b"x")).await.is_err());
        assert_eq!(faulty.calls.load(Ordering::SeqCst), 1);
        let (s, _) = store(0, reset, 5_000);
        let err = s.get(&Path::from("missing")).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    }
}
