//! The PKCS#11 backend against a real token: SoftHSM 2 (Debian's `softhsm2`, which `scripts/test`
//! installs), initialised in a temporary folder. The key pair is made in the token, signs through
//! `C_Sign`, and what it signs verifies with Ed25519 and with the real `minisign -V`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_evidence::keys::{sign_minisign, PublicKey};
use cairn_evidence::signer::{sign, Signer as _};
use cairn_signer::{Pkcs11Config, Pkcs11Error, Pkcs11Signer};
use ed25519_dalek::Verifier as _;

/// SoftHSM's module, where Debian puts it (`CAIRN_TEST_PKCS11_MODULE` names another).
fn module() -> PathBuf {
    let path = std::env::var_os("CAIRN_TEST_PKCS11_MODULE")
        .map_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"), PathBuf::from);
    assert!(path.exists(), "{} is missing: install softhsm2 (scripts/test does)", path.display());
    path
}

/// Initialises a token labelled `label` with user PIN `pin` in a SoftHSM folder of its own.
fn token(dir: &Path, label: &str, pin: &str) {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
    )
    .unwrap();
    // SoftHSM reads its configuration when the module is initialised, once per process.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "so-secret"])
        .output()
        .expect("softhsm2-util runs (install softhsm2)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_key_made_in_the_token_signs_and_minisign_verifies_it() {
    let dir = tempfile::tempdir().unwrap();
    token(dir.path(), "cairn-test", "4321");
    std::env::set_var("CAIRN_TEST_TOKEN_PIN", "4321");
    let config = Pkcs11Config {
        module: module(),
        token: "cairn-test".into(),
        key_label: "cairn-signing".into(),
        pin_env: "CAIRN_TEST_TOKEN_PIN".into(),
    };

    // A pair another tool made (before Cairn's context loads the module) is found and signs.
    make_pair_elsewhere(&config.module, "cairn-test", "4321", "made-elsewhere");
    let elsewhere = Pkcs11Config { key_label: "made-elsewhere".into(), ..config.clone() };
    let (theirs, made) = Pkcs11Signer::generate(&elsewhere).unwrap();
    assert!(!made);
    let signature = sign(&Pkcs11Signer::open(&elsewhere).unwrap(), b"by another tool's key").unwrap();
    theirs.verify(b"by another tool's key", &signature).unwrap();

    // A wrong PIN, while no session of this process is open (a login holds for the token while
    // any is).
    std::env::set_var("CAIRN_TEST_WRONG_PIN", "0000");
    let err =
        Pkcs11Signer::generate(&Pkcs11Config { pin_env: "CAIRN_TEST_WRONG_PIN".into(), ..config.clone() }).unwrap_err();
    assert_eq!(err.to_string(), "PKCS#11 token \"cairn-test\": logging in: Function::Login returned PinIncorrect");

    // Made once; asked again, the same key is found, not a second one made.
    let (public, made) = Pkcs11Signer::generate(&config).unwrap();
    assert!(made);
    assert_eq!(Pkcs11Signer::generate(&config).unwrap(), (public, false));

    let signer = Pkcs11Signer::open(&config).unwrap();
    assert_eq!(signer.verifying_key(), public);
    let signature = sign(&signer, b"a run manifest").unwrap();
    public.verify(b"a run manifest", &signature).unwrap();

    // A minisign signature made through the token passes the real minisign.
    let message = dir.path().join("manifest.json");
    std::fs::write(&message, b"{\"run\":1}\n").unwrap();
    let minisig = sign_minisign(&signer, b"{\"run\":1}\n", "file:manifest.json").unwrap();
    std::fs::write(dir.path().join("manifest.json.minisig"), minisig).unwrap();
    let pubfile = dir.path().join("cairn.pub");
    std::fs::write(&pubfile, PublicKey::from_verifying(public).to_minisign_file()).unwrap();
    let out = Command::new("minisign").arg("-Vm").arg(&message).arg("-p").arg(&pubfile).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // The private key cannot be read out of the token.
    let describe = signer.describe();
    assert!(describe.contains("\"cairn-signing\"") && describe.contains("\"cairn-test\""), "{describe}");

    // Each way of getting it wrong is named.
    let wrong = |f: &dyn Fn(&mut Pkcs11Config)| {
        let mut c = config.clone();
        f(&mut c);
        Pkcs11Signer::open(&c).unwrap_err()
    };
    let err = wrong(&|c| c.token = "other".into());
    assert!(matches!(&err, Pkcs11Error::NoToken { found, .. } if found.contains("\"cairn-test\"")), "{err}");
    let err = wrong(&|c| c.key_label = "absent".into());
    assert!(err.to_string().ends_with("no private key has this label"), "{err}");
    let err = wrong(&|c| c.pin_env = "CAIRN_TEST_UNSET_PIN".into());
    assert_eq!(
        err.to_string(),
        "the PIN of PKCS#11 token \"cairn-test\" is read from $CAIRN_TEST_UNSET_PIN, which is not set"
    );
    let err = wrong(&|c| c.module = "/nonexistent/libpkcs11.so".into());
    assert!(matches!(err, Pkcs11Error::Module { .. }), "{err}");
}

/// A key pair made by another tool, as `pkcs11-tool --keypairgen --key-type EC:edwards25519`
/// makes one: its curve named by the printable string `edwards25519`, not by its OID. Made in a
/// PKCS#11 context of this test's own, finalised before Cairn's loads the module.
fn make_pair_elsewhere(module: &Path, token: &str, pin: &str, label: &str) {
    use cryptoki::context::{CInitializeArgs, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, KeyType};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let context = Pkcs11::new(module).unwrap();
    context.initialize(CInitializeArgs::OsThreads).unwrap();
    let slot = context
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| context.get_token_info(*s).unwrap().label().trim_end() == token)
        .unwrap();
    let session = context.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&AuthPin::new(pin.into()))).unwrap();
    let label = label.as_bytes().to_vec();
    let public = [
        Attribute::Token(true),
        Attribute::Verify(true),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::EcParams(b"\x13\x0cedwards25519".to_vec()),
        Attribute::Label(label.clone()),
    ];
    let private = [Attribute::Token(true), Attribute::Private(true), Attribute::Sign(true), Attribute::Label(label)];
    session.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private).unwrap();
    session.logout().unwrap();
    drop(session);
    context.finalize();
}
