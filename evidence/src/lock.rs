//! One writer at a time: a lock object taken with a conditional create.
//!
//! `locks/writer.json` names its holder (host and process), when it was taken and when it
//! expires. A second writer finds it and stops with a message naming the holder; a lock past its
//! expiry (its holder died) is taken over, and the takeover is logged.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError};
use crate::time::format_rfc3339;

/// Key of the writer lock.
pub const LOCK_KEY: &str = "locks/writer.json";

/// What the lock object says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Host and process holding it.
    pub owner: String,
    /// The job it is held for (`collect`, `verify`).
    pub job: String,
    /// When it was taken (RFC 3339).
    pub acquired_at: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another writer holds it.
    #[error(
        "the lake is locked by {} for {} since {} (expires {}); another cairn run is writing. If that process is gone, the lock is taken over after it expires",
        .0.owner, .0.job, .0.acquired_at, .0.expires_at
    )]
    Held(LockInfo),
    /// The store failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// A held lock; release it with [`WriterLock::release`].
#[derive(Debug)]
pub struct WriterLock {
    lake: Lake,
    info: LockInfo,
}

fn owner() -> String {
    let host =
        std::fs::read_to_string("/etc/hostname").map_or_else(|_| "unknown-host".into(), |h| h.trim().to_string());
    format!("{host}:{}", std::process::id())
}

/// True when the holder ran on this host and its process no longer exists (it crashed or was
/// killed). A holder on another host is only judged by its expiry.
fn holder_is_gone(holder: &str) -> bool {
    let Some((host, pid)) = holder.rsplit_once(':') else { return false };
    let this = owner();
    let this_host = this.rsplit_once(':').map_or("", |(h, _)| h);
    cfg!(target_os = "linux")
        && host == this_host
        && pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl WriterLock {
    /// Takes the lock for `job` until `now + ttl`, taking over an expired one.
    pub async fn acquire(lake: &Lake, job: &str, now: DateTime<Utc>, ttl: Duration) -> Result<Self, LockError> {
        let info = LockInfo {
            owner: owner(),
            job: job.to_string(),
            acquired_at: format_rfc3339(now),
            expires_at: format_rfc3339(now + ttl),
        };
        let body = Bytes::from(serde_json::to_vec_pretty(&info).unwrap_or_default());
        let path = ObjectPath::from(LOCK_KEY);
        for _ in 0..2 {
            let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            match lake.store().put_opts(&path, PutPayload::from(body.clone()), opts).await {
                Ok(_) => return Ok(Self { lake: lake.clone(), info }),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(source) => return Err(LakeError::Store { key: LOCK_KEY.into(), source }.into()),
            }
            let held = lake.get(LOCK_KEY).await?;
            let Ok(holder) = serde_json::from_slice::<LockInfo>(&held) else {
                return Err(LockError::Held(LockInfo {
                    owner: "an unreadable lock object".into(),
                    job: "?".into(),
                    acquired_at: "?".into(),
                    expires_at: "?".into(),
                }));
            };
            let expired = crate::time::parse_rfc3339(&holder.expires_at).is_some_and(|t| t <= now)
                || holder_is_gone(&holder.owner);
            if !expired {
                return Err(LockError::Held(holder));
            }
            tracing::warn!(holder = %holder.owner, job = %holder.job, expires_at = %holder.expires_at, "taking over the writer lock of a run that is gone");
            lake.store().delete(&path).await.map_err(|source| LakeError::Store { key: LOCK_KEY.into(), source })?;
        }
        Err(LockError::Held(LockInfo {
            owner: "another writer that took the expired lock first".into(),
            job: "?".into(),
            acquired_at: "?".into(),
            expires_at: "?".into(),
        }))
    }

    /// Releases the lock (only if it is still ours).
    pub async fn release(self) -> Result<(), LakeError> {
        let held = self.lake.get(LOCK_KEY).await?;
        if serde_json::from_slice::<LockInfo>(&held).ok().as_ref() == Some(&self.info) {
            self.lake
                .store()
                .delete(&ObjectPath::from(LOCK_KEY))
                .await
                .map_err(|source| LakeError::Store { key: LOCK_KEY.into(), source })?;
        }
        Ok(())
    }
}
