//! The evidence lake over `object_store`.
//!
//! Layout:
//! ```text
//! lake/<table>/date=YYYY-MM-DD/<run_id>-<n>.parquet   Hive-style partitions
//! blobs/sha256/<hex>                                   raw artefacts, content-addressed
//! runs/<run_id>.json + runs/<run_id>.json.minisig      signed run manifests
//! runs/<run_id>.checkpoint                             C2SP checkpoint of the Merkle log at that run
//! ```
//!
//! Commit protocol: a run writes its data objects first, every one write-once
//! (`PutMode::Create`), then the manifest's signature, then the manifest itself. Readers see only
//! objects named by a manifest, so a run that dies before its manifest leaves nothing visible; the
//! next writer removes what it left behind ([`Lake::remove_uncommitted`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

use crate::digest::{sha256_hex, Sha256Digest};
use crate::keys::{sign_minisign, PublicKey};
use crate::manifest::{
    ChainHead, MerkleState, ObjectEntry, PreviousRun, RunManifest, SourceCursor, Stage, MANIFEST_FORMAT,
};
use crate::merkle;
use crate::note::{sign_note, Checkpoint, NoteVerifier};
use crate::rotation::{KeyRotation, KeyWalk, LakeKey};
use crate::signer::{SignError, Signer};
use crate::tables::{to_parquet, TableError};
use crate::time::{format_rfc3339, is_run_id};

/// What went wrong in the lake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LakeError {
    /// The store URL cannot be used.
    #[error("store {url:?}: {detail}")]
    Url {
        /// The URL as configured.
        url: String,
        /// Why.
        detail: String,
    },
    /// The store failed an operation.
    #[error("store operation on {key}: {source}")]
    Store {
        /// Object key.
        key: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// An object to be written once already exists.
    #[error("object {key} already exists; objects are write-once")]
    AlreadyExists {
        /// Object key.
        key: String,
    },
    /// A committed object no longer has the digest its manifest records.
    #[error("object {key} has sha256 {actual}, but its manifest records {expected}")]
    DigestMismatch {
        /// Object key.
        key: String,
        /// Recorded digest.
        expected: String,
        /// Digest of the bytes read.
        actual: String,
    },
    /// A run would be signed by another key than the lake's.
    #[error("this run would be signed by key {signing}, but the lake is signed by key {lake}: [signing] must name the lake's current key (docs/signing.md)")]
    WrongKey {
        /// The key id of the key about to sign.
        signing: String,
        /// The key id of the lake's signing key.
        lake: String,
    },
    /// The run manifest or its checkpoint could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A table could not be encoded or decoded.
    #[error("table object {key}: {source}")]
    Table {
        /// Object key.
        key: String,
        /// The cause.
        source: TableError,
    },
    /// A manifest is unreadable, unsigned, or fails its signature or chain.
    #[error("manifest {key}: {detail}")]
    Manifest {
        /// Manifest key.
        key: String,
        /// Why.
        detail: String,
    },
}

fn store_err(key: &str) -> impl FnOnce(object_store::Error) -> LakeError + '_ {
    move |source| LakeError::Store { key: key.to_string(), source }
}

/// A handle on the lake.
#[derive(Clone, Debug)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    url: String,
}

/// A committed manifest as stored: its exact bytes, its signature text, and its parsed form.
#[derive(Clone, Debug)]
pub struct StoredManifest {
    /// Run id from the key.
    pub run_id: String,
    /// Key of the manifest.
    pub key: String,
    /// Exact bytes.
    pub bytes: Bytes,
    /// The `.minisig` text, if present.
    pub signature: Option<String>,
    /// The signed checkpoint note, if present.
    pub checkpoint: Option<String>,
    /// Parsed manifest, or why it does not parse.
    pub manifest: Result<RunManifest, String>,
}

/// The committed state a writer builds on: every manifest, checked.
#[derive(Clone, Debug, Default)]
pub struct LakeState {
    /// Every committed manifest, oldest first.
    pub manifests: Vec<(StoredManifest, RunManifest)>,
    /// Keys of every committed object.
    pub committed_keys: HashSet<String>,
    /// Merkle leaf hashes of every committed object, in commit order.
    pub leaves: Vec<Sha256Digest>,
    /// The keys that signed the lake, oldest first; the last one signs now.
    pub keys: Vec<LakeKey>,
    /// The live disclosure vault objects by key: written by a committed run and not replaced
    /// by a committed erasure since.
    pub vault: BTreeMap<String, ObjectEntry>,
}

impl LakeState {
    /// The latest manifest, if any.
    pub fn latest(&self) -> Option<&RunManifest> {
        self.manifests.last().map(|(_, m)| m)
    }

    /// The latest manifest's cursors.
    pub fn cursors(&self) -> BTreeMap<String, BTreeMap<String, SourceCursor>> {
        self.latest().map(|m| m.cursors.clone()).unwrap_or_default()
    }

    /// The latest manifest's chain heads.
    pub fn chain_heads(&self) -> BTreeMap<String, ChainHead> {
        self.latest().map(|m| m.chain_heads.clone()).unwrap_or_default()
    }
}

impl Lake {
    /// Opens the store at `url`: `file://` URLs and plain paths (relative ones resolve against
    /// `base`), `s3://`, `gs://` and `az://` URLs (credentials from the environment, see
    /// [`crate::store`]), or `memory://` for a store that lives as long as the process.
    pub fn open(url: &str, base: &Path) -> Result<Self, LakeError> {
        let err = |detail: String| LakeError::Url { url: url.to_string(), detail };
        let (store, shown): (Arc<dyn ObjectStore>, String) = if url == "memory://" || url.starts_with("memory://") {
            (Arc::new(InMemory::new()), url.to_string())
        } else if let Some(store) = crate::store::open_cloud(url).map_err(err)? {
            (store, url.to_string())
        } else if let Some(scheme) = url.split_once("://").map(|(s, _)| s).filter(|s| *s != "file") {
            return Err(err(format!(
                "scheme {scheme}:// is not supported; use a folder path, file://, s3://, gs://, az:// or memory://"
            )));
        } else {
            let path = url.strip_prefix("file://").unwrap_or(url);
            let path = if Path::new(path).is_absolute() { Path::new(path).to_path_buf() } else { base.join(path) };
            std::fs::create_dir_all(&path).map_err(|e| err(format!("cannot create folder {}: {e}", path.display())))?;
            let fs = LocalFileSystem::new_with_prefix(&path).map_err(|e| err(e.to_string()))?;
            (Arc::new(fs), format!("file://{}", path.display()))
        };
        Ok(Self { store, url: shown })
    }

    /// Wraps an existing store (tests, fault injection).
    pub fn from_store(store: Arc<dyn ObjectStore>, url: &str) -> Self {
        Self { store, url: url.to_string() }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The store's URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads a whole object.
    pub async fn get(&self, key: &str) -> Result<Bytes, LakeError> {
        let path = ObjectPath::from(key);
        // The whole download is retried: a body that breaks off is as transient as a refused
        // connection.
        let policy = crate::store::retry_policy().unwrap_or_default();
        crate::retry::retrying(policy, "get", || async { self.store.get(&path).await?.bytes().await })
            .await
            .map_err(store_err(key))
    }

    /// Reads a committed object and checks it against its recorded digest.
    pub async fn get_checked(&self, entry: &ObjectEntry) -> Result<Bytes, LakeError> {
        let bytes = self.get(&entry.key).await?;
        let actual = sha256_hex(&bytes);
        if actual != entry.sha256 {
            return Err(LakeError::DigestMismatch { key: entry.key.clone(), expected: entry.sha256.clone(), actual });
        }
        Ok(bytes)
    }

    /// Writes a new object; fails if it exists with other bytes. (The same bytes are our own
    /// write, retried by the store's client after a lost response.)
    pub async fn put_new(&self, key: &str, bytes: Bytes) -> Result<(), LakeError> {
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        match self.store.put_opts(&ObjectPath::from(key), PutPayload::from(bytes.clone()), opts).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                if self.get(key).await.is_ok_and(|existing| existing == bytes) {
                    Ok(())
                } else {
                    Err(LakeError::AlreadyExists { key: key.to_string() })
                }
            }
            Err(source) => Err(LakeError::Store { key: key.to_string(), source }),
        }
    }

    /// Lists keys under a prefix, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, LakeError> {
        let path = ObjectPath::from(prefix);
        let policy = crate::store::retry_policy().unwrap_or_default();
        let mut keys: Vec<(String, u64)> = crate::retry::retrying(policy, "list", || {
            self.store.list(Some(&path)).map_ok(|m| (m.location.to_string(), m.size)).try_collect()
        })
        .await
        .map_err(store_err(prefix))?;
        keys.sort();
        Ok(keys)
    }

    /// Every stored manifest, oldest first, unchecked: the verifier judges them.
    pub async fn stored_manifests(&self) -> Result<Vec<StoredManifest>, LakeError> {
        let keys = self.list("runs").await?;
        let present: HashSet<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        let mut out = Vec::new();
        for (key, _) in &keys {
            let Some(run_id) = key.strip_prefix("runs/").and_then(|k| k.strip_suffix(".json")) else {
                continue;
            };
            let bytes = self.get(key).await?;
            let sig_key = format!("{key}.minisig");
            let signature = if present.contains(sig_key.as_str()) {
                let sig = self.get(&sig_key).await?;
                Some(String::from_utf8_lossy(&sig).into_owned())
            } else {
                None
            };
            let checkpoint_key = format!("runs/{run_id}.checkpoint");
            let checkpoint = if present.contains(checkpoint_key.as_str()) {
                Some(String::from_utf8_lossy(&self.get(&checkpoint_key).await?).into_owned())
            } else {
                None
            };
            let manifest = serde_json::from_slice::<RunManifest>(&bytes).map_err(|e| e.to_string());
            out.push(StoredManifest {
                run_id: run_id.to_string(),
                key: key.clone(),
                bytes,
                signature,
                manifest,
                checkpoint,
            });
        }
        Ok(out)
    }

    /// The committed state, with every manifest's signature and link checked against `public`.
    /// A writer refuses to build on a lake that fails this; `cairn verify` says what is wrong.
    pub async fn state(&self, public: &PublicKey) -> Result<LakeState, LakeError> {
        let mut state = LakeState::default();
        let mut previous: Option<PreviousRun> = None;
        let stored = self.stored_manifests().await?;
        let parsed: Vec<&RunManifest> = stored.iter().filter_map(|s| s.manifest.as_ref().ok()).collect();
        let mut walk = KeyWalk::start(parsed, public);
        for stored in stored {
            let bad = |detail: String| LakeError::Manifest { key: stored.key.clone(), detail };
            let sig = stored.signature.as_deref().ok_or_else(|| bad("no signature (.minisig) beside it".into()))?;
            let manifest = stored.manifest.clone().map_err(|e| bad(format!("not a run manifest: {e}")))?;
            let key = walk.key_for(&manifest).map_err(&bad)?;
            key.verify_minisign(&stored.bytes, sig)
                .map_err(|e| bad(format!("{e}; run `cairn verify` for a full report")))?;
            if manifest.previous != previous {
                return Err(bad("its `previous` link does not name the manifest before it".into()));
            }
            for entry in &manifest.objects {
                state.committed_keys.insert(entry.key.clone());
                state.leaves.push(merkle::leaf_hash(&RunManifest::leaf_bytes(entry)));
            }
            previous = Some(PreviousRun { run_id: manifest.run_id.clone(), sha256: sha256_hex(&stored.bytes) });
            state.manifests.push((stored, manifest));
        }
        state.vault = crate::vault::live(state.manifests.iter().map(|(_, m)| m));
        state.keys = walk.finish(public).map_err(|detail| LakeError::Manifest { key: "runs/".into(), detail })?;
        Ok(state)
    }

    /// Removes an object (a vault object an erasure replaced; what a run left uncommitted).
    pub async fn delete(&self, key: &str) -> Result<(), LakeError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(key)(e)),
        }
    }

    /// Removes what runs that never committed left behind: data objects no manifest names, and
    /// signatures without a manifest; and vault objects that are not live (never committed, or
    /// replaced by a committed erasure that stopped before removing them). Returns the removed
    /// keys. Only call this while holding the lake (one writer at a time).
    pub async fn remove_uncommitted(&self, state: &LakeState) -> Result<Vec<String>, LakeError> {
        let mut removed = Vec::new();
        let manifests: HashSet<String> = state.manifests.iter().map(|(s, _)| s.key.clone()).collect();
        for prefix in ["lake", "blobs"] {
            for (key, _) in self.list(prefix).await? {
                if !state.committed_keys.contains(&key) {
                    self.store.delete(&ObjectPath::from(key.as_str())).await.map_err(store_err(&key))?;
                    removed.push(key);
                }
            }
        }
        for (key, _) in self.list(crate::vault::PREFIX).await? {
            if !state.vault.contains_key(&key) {
                self.delete(&key).await?;
                removed.push(key);
            }
        }
        for (key, _) in self.list("runs").await? {
            let manifest_key = key
                .strip_suffix(".minisig")
                .map(str::to_string)
                .or_else(|| key.strip_suffix(".checkpoint").map(|run| format!("{run}.json")));
            if let Some(manifest_key) = manifest_key {
                if !manifests.contains(&manifest_key) {
                    self.store.delete(&ObjectPath::from(key.as_str())).await.map_err(store_err(&key))?;
                    removed.push(key);
                }
            }
        }
        Ok(removed)
    }
}

/// The origin (and note key name) of the checkpoints signed by `key`: `cairn/<minisign key id>`.
pub fn log_origin(key: &PublicKey) -> String {
    format!("cairn/{}", key.key_id_hex())
}

/// The note verifier for checkpoints signed by `key`.
pub fn checkpoint_verifier(key: &PublicKey) -> NoteVerifier {
    NoteVerifier::new(&log_origin(key), key.key)
}

/// Writes one run's objects and commits them with a signed manifest.
pub struct RunWriter<'a> {
    lake: &'a Lake,
    run_id: String,
    started_at: DateTime<Utc>,
    objects: Vec<ObjectEntry>,
    vault: Vec<ObjectEntry>,
    committed: &'a HashSet<String>,
    parts: u32,
    /// Parts being written in the background ([`RunWriter::write_parquet_behind`]), oldest first.
    in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<(), LakeError>>>,
}

/// Parts written in the background at once: bounds the memory they hold.
const PARTS_IN_FLIGHT: usize = 2;

/// What a run commits besides its objects.
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    /// Source cursors after the run.
    pub cursors: BTreeMap<String, BTreeMap<String, SourceCursor>>,
    /// Chain heads after the run.
    pub chain_heads: BTreeMap<String, ChainHead>,
    /// Last collect run verified.
    pub verified_through: Option<String>,
    /// Counters.
    pub stats: BTreeMap<String, u64>,
    /// For a rotation run: the handover to the key that signs it.
    pub rotation: Option<KeyRotation>,
    /// For an erasure run: what it erased.
    pub erasure: Option<crate::vault::Erasure>,
}

impl<'a> RunWriter<'a> {
    /// Starts a run on top of `state`.
    pub fn new(
        lake: &'a Lake,
        state: &'a LakeState,
        run_id: &str,
        started_at: DateTime<Utc>,
    ) -> Result<Self, LakeError> {
        if !is_run_id(run_id) {
            return Err(LakeError::Url { url: lake.url.clone(), detail: format!("{run_id:?} is not a run id") });
        }
        // Manifests are read in run-id order, which must be commit order.
        if let Some(latest) = state.latest().filter(|m| m.run_id.as_str() >= run_id) {
            return Err(LakeError::Manifest {
                key: format!("runs/{run_id}.json"),
                detail: format!("run id must sort after the latest committed run {}", latest.run_id),
            });
        }
        Ok(Self {
            lake,
            run_id: run_id.to_string(),
            started_at,
            objects: Vec::new(),
            vault: Vec::new(),
            committed: &state.committed_keys,
            parts: 0,
            in_flight: std::collections::VecDeque::new(),
        })
    }

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Objects written so far.
    pub fn objects(&self) -> &[ObjectEntry] {
        &self.objects
    }

    /// Writes disclosure rows as the run's next vault object
    /// (`vault/disclosures/date=<date>/<run_id>-<n>.parquet`); the manifest lists it under `vault`.
    pub async fn write_vault(
        &mut self,
        date: &str,
        rows: &[crate::vault::DisclosureRow],
    ) -> Result<ObjectEntry, LakeError> {
        let table_err = |source| LakeError::Table { key: crate::vault::PREFIX.into(), source };
        let batch = crate::vault::batch(rows).map_err(table_err)?;
        let bytes = to_parquet(&batch).map_err(table_err)?;
        let key = crate::vault::key(date, &self.run_id, self.vault.len() as u32);
        let entry = ObjectEntry {
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            rows: rows.len() as u64,
            simulated: crate::tables::any_simulated(&batch),
            key,
            table: crate::tables::names::DISCLOSURES.into(),
        };
        self.lake.put_new(&entry.key, bytes).await?;
        self.vault.push(entry.clone());
        Ok(entry)
    }

    /// Writes a batch as `lake/<table>/date=<date>/<run_id>-<n>.parquet`.
    pub async fn write_table(
        &mut self,
        table: &str,
        date: &str,
        batch: &RecordBatch,
    ) -> Result<ObjectEntry, LakeError> {
        let bytes = to_parquet(batch).map_err(|source| LakeError::Table { key: table.to_string(), source })?;
        let simulated = crate::tables::any_simulated(batch);
        self.write_parquet(table, date, bytes, batch.num_rows() as u64, simulated).await
    }

    /// Writes an already-encoded Parquet file of `rows` rows as the table's next part (encoding
    /// can then happen elsewhere while the caller goes on); `simulated` when any row is.
    pub async fn write_parquet(
        &mut self,
        table: &str,
        date: &str,
        bytes: Bytes,
        rows: u64,
        simulated: bool,
    ) -> Result<ObjectEntry, LakeError> {
        let sha256 = sha256_hex(&bytes);
        let entry = self.next_part(table, date, &bytes, (rows, simulated), sha256)?;
        self.lake.put_new(&entry.key, bytes).await?;
        self.objects.push(entry.clone());
        Ok(entry)
    }

    /// [`Self::write_parquet`] with the file's SHA-256 already computed (by the thread that
    /// encoded it: the digest is what the manifest commits to, so it must be of these bytes), and
    /// the write going on in the background while the caller encodes the next part; at most
    /// [`PARTS_IN_FLIGHT`] at once. A failed write surfaces from a later call, from
    /// [`Self::settle`] or from [`Self::commit`], which waits for them all: nothing is committed
    /// before every object it lists is stored.
    pub async fn write_parquet_behind(
        &mut self,
        table: &str,
        date: &str,
        bytes: Bytes,
        (rows, simulated): (u64, bool),
        sha256: String,
    ) -> Result<ObjectEntry, LakeError> {
        let entry = self.next_part(table, date, &bytes, (rows, simulated), sha256)?;
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.settle_one().await?;
        }
        let lake = self.lake.clone();
        let key = entry.key.clone();
        self.in_flight.push_back(tokio::spawn(async move { lake.put_new(&key, bytes).await }));
        self.objects.push(entry.clone());
        Ok(entry)
    }

    /// Waits for the oldest background write.
    async fn settle_one(&mut self) -> Result<(), LakeError> {
        let Some(write) = self.in_flight.pop_front() else { return Ok(()) };
        write.await.map_err(|e| LakeError::Url {
            url: self.lake.url.clone(),
            detail: format!("a background write stopped: {e}"),
        })?
    }

    /// Waits for every background write; the first failure is returned.
    pub async fn settle(&mut self) -> Result<(), LakeError> {
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    /// The entry of the table's next part, after checking its key is safe.
    fn next_part(
        &mut self,
        table: &str,
        date: &str,
        bytes: &Bytes,
        (rows, simulated): (u64, bool),
        sha256: String,
    ) -> Result<ObjectEntry, LakeError> {
        let valid_date = date.len() == 10
            && date.bytes().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == b'-' } else { c.is_ascii_digit() });
        let valid_table = !table.is_empty() && table.bytes().all(|c| c.is_ascii_lowercase() || c == b'_');
        let key = format!("lake/{table}/date={date}/{}-{:04}.parquet", self.run_id, self.parts);
        if !valid_date || !valid_table {
            return Err(LakeError::Url {
                url: self.lake.url.clone(),
                detail: format!("refusing unsafe object key {key:?}"),
            });
        }
        self.parts += 1;
        Ok(ObjectEntry { key, table: table.to_string(), sha256, size: bytes.len() as u64, rows, simulated })
    }

    /// Writes a content-addressed blob, `simulated` when it came from a simulated source. A blob
    /// already committed is not written or listed again.
    pub async fn write_blob(&mut self, bytes: Bytes, simulated: bool) -> Result<String, LakeError> {
        let sha = sha256_hex(&bytes);
        let key = format!("blobs/sha256/{sha}");
        if self.committed.contains(&key) || self.objects.iter().any(|o| o.key == key) {
            return Ok(key);
        }
        let size = bytes.len() as u64;
        self.lake.put_new(&key, bytes).await?;
        self.objects.push(ObjectEntry {
            key: key.clone(),
            table: "blob".into(),
            sha256: sha,
            size,
            rows: 0,
            simulated,
        });
        Ok(key)
    }

    /// Commits the run: signs the manifest, writes its signature, then the manifest itself.
    pub async fn commit(
        mut self,
        stage: Stage,
        state: &LakeState,
        outcome: RunOutcome,
        key: &dyn Signer,
        committed_at: DateTime<Utc>,
    ) -> Result<RunManifest, LakeError> {
        self.settle().await?;
        // Only the lake's signing key signs its next run; a rotation run hands over to the key
        // that signs it, from that one.
        let signing = PublicKey::from_verifying(key.verifying_key());
        let expected = match &outcome.rotation {
            None => state.keys.last().map(|k| k.key),
            Some(rotation) => {
                let (from, to) =
                    rotation.keys().map_err(|detail| LakeError::Manifest { key: "runs/".into(), detail })?;
                if state.keys.last().is_some_and(|k| k.key.key != from.key) {
                    return Err(LakeError::WrongKey {
                        signing: from.key_id_hex(),
                        lake: state.keys.last().map(|k| k.key.key_id_hex()).unwrap_or_default(),
                    });
                }
                Some(to)
            }
        };
        if let Some(expected) = expected.filter(|e| e.key != signing.key) {
            return Err(LakeError::WrongKey { signing: signing.key_id_hex(), lake: expected.key_id_hex() });
        }
        let previous = state
            .manifests
            .last()
            .map(|(stored, m)| PreviousRun { run_id: m.run_id.clone(), sha256: sha256_hex(&stored.bytes) });
        let mut leaves = state.leaves.clone();
        leaves.extend(self.objects.iter().map(|e| merkle::leaf_hash(&RunManifest::leaf_bytes(e))));
        let manifest = RunManifest {
            format: MANIFEST_FORMAT.to_string(),
            run_id: self.run_id.clone(),
            stage,
            started_at: format_rfc3339(self.started_at),
            committed_at: format_rfc3339(committed_at),
            previous,
            signing_key_id: signing.key_id_hex(),
            objects: self.objects,
            cursors: outcome.cursors,
            chain_heads: outcome.chain_heads,
            verified_through: outcome.verified_through,
            stats: outcome.stats,
            merkle: MerkleState { size: leaves.len() as u64, root: merkle::root(&leaves).to_hex() },
            rotation: outcome.rotation,
            vault: self.vault,
            erasure: outcome.erasure,
        };
        let bytes = manifest.to_bytes();
        let key_name = format!("runs/{}.json", self.run_id);
        let checkpoint = Checkpoint {
            origin: log_origin(&signing),
            size: manifest.merkle.size,
            root: merkle::root(&leaves),
            extensions: Vec::new(),
        };
        let note = sign_note(&checkpoint.to_text(), &checkpoint.origin, key)?;
        self.lake.put_new(&format!("runs/{}.checkpoint", self.run_id), Bytes::from(note)).await?;
        let comment = format!("timestamp:{}\tfile:{}.json", committed_at.timestamp(), self.run_id);
        let sig = sign_minisign(key, &bytes, &comment)?;
        self.lake.put_new(&format!("{key_name}.minisig"), Bytes::from(sig)).await?;
        self.lake.put_new(&key_name, Bytes::from(bytes)).await?;
        Ok(manifest)
    }
}
