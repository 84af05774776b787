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

    // A wrong PIN, before any login of this process (a login holds for the whole token after).
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
