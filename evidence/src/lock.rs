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
    key: String,
    info: LockInfo,
}

/// Key of the lock that keeps two runs of one job apart.
pub fn job_lock_key(job: &str) -> String {
    format!("locks/job-{job}.json")
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
    /// Takes the lake's writer lock for `job` until `now + ttl`, taking over an expired one.
    pub async fn acquire(lake: &Lake, job: &str, now: DateTime<Utc>, ttl: Duration) -> Result<Self, LockError> {
        Self::acquire_key(lake, LOCK_KEY, job, now, ttl).await
    }

    /// Takes the lock object `key` for `job` until `now + ttl`, taking over an expired one or
    /// one whose holder on this host is gone.
    pub async fn acquire_key(
        lake: &Lake,
        key: &str,
        job: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Self, LockError> {
        let info = LockInfo {
            owner: owner(),
            job: job.to_string(),
            acquired_at: format_rfc3339(now),
            expires_at: format_rfc3339(now + ttl),
        };
        let body = Bytes::from(serde_json::to_vec_pretty(&info).unwrap_or_default());
        let path = ObjectPath::from(key);
        let store_err = |source| LakeError::Store { key: key.into(), source };
        for _ in 0..2 {
            let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            match lake.store().put_opts(&path, PutPayload::from(body.clone()), opts).await {
                Ok(_) => return Ok(Self { lake: lake.clone(), key: key.to_string(), info }),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(source) => return Err(store_err(source).into()),
            }
            let held = match lake.get(key).await {
                Ok(held) => held,
                // Released between our create and our read: try again.
                Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let Ok(holder) = serde_json::from_slice::<LockInfo>(&held) else {
                return Err(LockError::Held(LockInfo {
                    owner: "an unreadable lock object".into(),
                    job: "?".into(),
                    acquired_at: "?".into(),
                    expires_at: "?".into(),
                }));
            };
            if holder == info {
                // Our own create, retried by the client after a lost response.
                return Ok(Self { lake: lake.clone(), key: key.to_string(), info });
            }
            let expired = crate::time::parse_rfc3339(&holder.expires_at).is_some_and(|t| t <= now)
                || holder_is_gone(&holder.owner);
            if !expired {
                return Err(LockError::Held(holder));
            }
            tracing::warn!(lock = %key, holder = %holder.owner, job = %holder.job, expires_at = %holder.expires_at, "taking over the lock of a run that is gone");
            lake.store().delete(&path).await.map_err(store_err)?;
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
        let held = self.lake.get(&self.key).await?;
        if serde_json::from_slice::<LockInfo>(&held).ok().as_ref() == Some(&self.info) {
            self.lake
                .store()
                .delete(&ObjectPath::from(self.key.as_str()))
                .await
                .map_err(|source| LakeError::Store { key: self.key.clone(), source })?;
        }
        Ok(())
    }

    /// Removes the lock object `key` if this process holds it: after a step was abandoned (a
    /// timeout, a signal) without reaching its own release.
    pub async fn release_if_ours(lake: &Lake, key: &str) -> Result<bool, LakeError> {
        let held = match lake.get(key).await {
            Ok(held) => held,
            Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let ours = serde_json::from_slice::<LockInfo>(&held).is_ok_and(|info| info.owner == owner());
        if ours {
            lake.store()
                .delete(&ObjectPath::from(key))
                .await
                .map_err(|source| LakeError::Store { key: key.to_string(), source })?;
        }
        Ok(ours)
    }

    /// Who holds the lock object `key`, if anyone.
    pub async fn holder(lake: &Lake, key: &str) -> Result<Option<LockInfo>, LakeError> {
        match lake.get(key).await {
            Ok(held) => Ok(serde_json::from_slice(&held).ok()),
            Err(LakeError::Store { source: object_store::Error::NotFound { .. }, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
