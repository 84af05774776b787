//! Published test vectors: RFC 8785 (JCS) and RFC 6962 Merkle roots.

use std::path::PathBuf;

use cairn_evidence::canonical::canonical_bytes;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(rel)
}

#[test]
fn jcs_reference_vectors() {
    for name in ["values", "weird", "structures"] {
        let input = std::fs::read_to_string(fixture(&format!("jcs/jcs-{name}.input.json"))).unwrap();
        let expected = std::fs::read(fixture(&format!("jcs/jcs-{name}.output.json"))).unwrap();
        let value: serde_json::Value = serde_json::from_str(&input).unwrap();
        let got = canonical_bytes(&value).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected), "vector {name}");
    }
}
