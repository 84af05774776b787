//! `cairn-signer`: Cairn's signing key where it is held. The key file is `cairn-evidence`'s
//! ([`cairn_evidence::keys::read_signing_key`]); this crate adds keys that never leave a device:
//! a PKCS#11 token ([`Pkcs11Signer`]: an HSM, or SoftHSM), signing with `CKM_EDDSA`, and an AWS
//! KMS key ([`AwsKmsSigner`], `ECC_NIST_EDWARDS25519`).
//!
//! Every backend is an Ed25519 key behind [`cairn_evidence::signer::Signer`], so what it signs is
//! checked exactly as a file key's signatures are: the minisign public key, `minisign -V`, the
//! lake's checkpoints and every auditor's check are unchanged.
//!
//! It does not own the configuration file (`cairn-jobs` reads `[signing]` into [`Pkcs11Config`] or
//! [`AwsKmsConfig`]) or what is signed (`cairn-evidence`, `cairn-renderer`).

pub mod aws;

pub use aws::{AwsKmsConfig, AwsKmsError, AwsKmsSigner};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cairn_evidence::signer::{SignError, Signer};
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ed25519_dalek::{Signature, VerifyingKey};

/// The environment variable the token's user PIN is read from, unless `[signing] pin_env` names
/// another.
pub const DEFAULT_PIN_ENV: &str = "CAIRN_PKCS11_PIN";

/// A key pair in a PKCS#11 token (`[signing] backend = "pkcs11"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Config {
    /// The token's PKCS#11 module, a shared library (SoftHSM's is
    /// `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The label of the key pair (its private and public key objects) in the token.
    pub key_label: String,
    /// The environment variable holding the user PIN. The PIN is never in the configuration.
    pub pin_env: String,
}

impl Pkcs11Config {
    /// The token and key, for messages.
    pub fn describe(&self) -> String {
        format!("key {:?} in PKCS#11 token {:?} ({})", self.key_label, self.token, self.module.display())
    }
}

/// Why a PKCS#11 key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module cannot be loaded or initialised.
    #[error("PKCS#11 module {module}: {detail}")]
    Module {
        /// The module's path.
        module: PathBuf,
        /// Why.
        detail: String,
    },
    /// No slot holds a token with the configured label.
    #[error("no PKCS#11 token is labelled {token:?} in {module} (tokens: {found})")]
    NoToken {
        /// The label looked for.
        token: String,
        /// The module's path.
        module: PathBuf,
        /// The labels found, for the message.
        found: String,
    },
    /// The PIN's environment variable is not set.
    #[error("the PIN of PKCS#11 token {token:?} is read from ${var}, which is not set")]
    NoPin {
        /// The token.
        token: String,
        /// The variable.
        var: String,
    },
    /// The token refused an operation.
    #[error("{what}: {detail}")]
    Token {
        /// The token and key, and the operation.
        what: String,
        /// The token's error.
        detail: String,
    },
    /// The key pair is missing, duplicated, or not Ed25519.
    #[error("{what}: {detail}")]
    Key {
        /// The token and key.
        what: String,
        /// Why.
        detail: String,
    },
}

/// An Ed25519 key pair in a PKCS#11 token, logged in for the life of the value. The private key
/// is found by its label and used through `C_Sign` with `CKM_EDDSA`; the public key is read from
/// its public key object.
pub struct Pkcs11Signer {
    /// The one session: PKCS#11 sessions are not shared between threads at once.
    session: Mutex<Session>,
    key: ObjectHandle,
    public: VerifyingKey,
    describe: String,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer").field("key", &self.describe).finish_non_exhaustive()
    }
}

/// The DER of the Ed25519 curve's object identifier (1.3.101.112), as `CKA_EC_PARAMS` names it.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// The same curve as a printable string, which some tokens write instead (RFC 8410 came later).
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

impl Pkcs11Signer {
    /// Opens the token, logs in with the PIN from the configured variable, and finds the key pair.
    pub fn open(config: &Pkcs11Config) -> Result<Self, Pkcs11Error> {
        let session = login(config)?;
        let what = config.describe();
        let private = find(&session, config, ObjectClass::PRIVATE_KEY)?
            .ok_or_else(|| Pkcs11Error::Key { what: what.clone(), detail: "no private key has this label".into() })?;
        let public = public_key(&session, config)?;
        Ok(Self { session: Mutex::new(session), key: private, public, describe: what })
    }

    /// Creates an Ed25519 key pair in the token under the configured label, unless one is there:
    /// the private key is sensitive and never extractable. Returns the public key and whether the
    /// pair was made now.
    pub fn generate(config: &Pkcs11Config) -> Result<(VerifyingKey, bool), Pkcs11Error> {
        let session = login(config)?;
        if find(&session, config, ObjectClass::PRIVATE_KEY)?.is_some() {
            return Ok((public_key(&session, config)?, false));
        }
        let label = config.key_label.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::EcParams(ED25519_OID.to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Id(label.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Label(label.clone()),
            Attribute::Id(label),
        ];
        session.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private).map_err(|e| {
            Pkcs11Error::Token {
                what: format!("{}: generating an Ed25519 key pair", config.describe()),
                detail: explain(&e),
            }
        })?;
        Ok((public_key(&session, config)?, true))
    }
}

impl Signer for Pkcs11Signer {
    fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    fn try_sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        let failed = |detail: String| SignError::Failed { signer: self.describe.clone(), detail };
        let session = self.session.lock().map_err(|_| failed("the session was poisoned by a panic".into()))?;
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let bytes = session.sign(&mechanism, self.key, message).map_err(|e| failed(explain(&e)))?;
        Signature::from_slice(&bytes)
            .map_err(|_| failed(format!("the token returned {} bytes, not an Ed25519 signature", bytes.len())))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

/// The module at `path`, loaded and initialised once for the process: PKCS#11 allows one
/// `C_Initialize` per process, so every signer and key generation shares it.
fn context(path: &Path) -> Result<Pkcs11, String> {
    static LOADED: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let mut loaded = LOADED.get_or_init(|| Mutex::new(Vec::new())).lock().map_err(|_| "poisoned".to_string())?;
    if let Some((_, context)) = loaded.iter().find(|(p, _)| p == path) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(path).map_err(|e| explain(&e))?;
    context.initialize(CInitializeArgs::OsThreads).map_err(|e| explain(&e))?;
    loaded.push((path.to_path_buf(), context.clone()));
    Ok(context)
}

/// Loads the module, finds the token by label and logs in as its user.
fn login(config: &Pkcs11Config) -> Result<Session, Pkcs11Error> {
    let module = |detail: String| Pkcs11Error::Module { module: config.module.clone(), detail };
    let pin = std::env::var(&config.pin_env)
        .map_err(|_| Pkcs11Error::NoPin { token: config.token.clone(), var: config.pin_env.clone() })?;
    let context = context(&config.module).map_err(module)?;
    let slots = context.get_slots_with_token().map_err(|e| module(explain(&e)))?;
    let mut found = Vec::new();
    let mut slot: Option<Slot> = None;
    for s in slots {
        let info = context.get_token_info(s).map_err(|e| module(explain(&e)))?;
        if info.label().trim_end() == config.token {
            slot = Some(s);
            break;
        }
        found.push(format!("{:?}", info.label().trim_end()));
    }
    let slot = slot.ok_or_else(|| Pkcs11Error::NoToken {
        token: config.token.clone(),
        module: config.module.clone(),
        found: if found.is_empty() { "none".into() } else { found.join(", ") },
    })?;
    let token = |what: &str, e: cryptoki::error::Error| Pkcs11Error::Token {
        what: format!("PKCS#11 token {:?}: {what}", config.token),
        detail: explain(&e),
    };
    let session = context.open_rw_session(slot).map_err(|e| token("opening a session", e))?;
    match session.login(UserType::User, Some(&AuthPin::new(pin))) {
        // Logins are per token and process: another session of this process logged in already.
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(token("logging in", e)),
    }
}

/// A token's error in few words: the function and its return value's name (`PinIncorrect`).
fn explain(e: &cryptoki::error::Error) -> String {
    match e {
        cryptoki::error::Error::Pkcs11(rv, function) => format!("{function} returned {rv:?}"),
        other => other.to_string(),
    }
}

/// The one object of `class` with the configured label, if any.
fn find(session: &Session, config: &Pkcs11Config, class: ObjectClass) -> Result<Option<ObjectHandle>, Pkcs11Error> {
    let template = [Attribute::Class(class), Attribute::Label(config.key_label.as_bytes().to_vec())];
    let found = session.find_objects(&template).map_err(|e| Pkcs11Error::Token {
        what: format!("{}: finding the key", config.describe()),
        detail: explain(&e),
    })?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        more => Err(Pkcs11Error::Key {
            what: config.describe(),
            detail: format!("{} objects of class {class} have this label; labels must name one key pair", more.len()),
        }),
    }
}

/// The public key of the pair: its `CKA_EC_POINT`, checked to be on the Ed25519 curve.
fn public_key(session: &Session, config: &Pkcs11Config) -> Result<VerifyingKey, Pkcs11Error> {
    let key = |detail: String| Pkcs11Error::Key { what: config.describe(), detail };
    let object =
        find(session, config, ObjectClass::PUBLIC_KEY)?.ok_or_else(|| key("no public key has this label".into()))?;
    let attributes = session
        .get_attributes(object, &[AttributeType::KeyType, AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| key(format!("reading the public key: {}", explain(&e))))?;
    let (mut point, mut curve, mut kind) = (None, None, None);
    for a in attributes {
        match a {
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::EcParams(p) => curve = Some(p),
            Attribute::KeyType(k) => kind = Some(k),
            _ => {}
        }
    }
    if kind != Some(KeyType::EC_EDWARDS)
        || !curve.as_deref().is_some_and(|c| c == ED25519_OID.as_slice() || c == ED25519_NAME)
    {
        return Err(key("it is not an Ed25519 key".into()));
    }
    let point = point.ok_or_else(|| key("the public key has no CKA_EC_POINT".into()))?;
    // A DER OCTET STRING of the 32 bytes (PKCS#11 3.0), or the bare 32 bytes (some tokens).
    let raw: &[u8] = match point.as_slice() {
        [0x04, 32, rest @ ..] if rest.len() == 32 => rest,
        bare if bare.len() == 32 => bare,
        other => return Err(key(format!("its CKA_EC_POINT is {} bytes, not an Ed25519 point", other.len()))),
    };
    let bytes: [u8; 32] = raw.try_into().map_err(|_| key("its point is not 32 bytes".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| key(format!("its point is not an Ed25519 key: {e}")))
}
