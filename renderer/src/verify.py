#!/usr/bin/env python3
"""Check a Cairn evidence bundle with no Cairn installed.

Usage: python3 verify.py cairn.pub                 (in the folder the bundle was extracted to)
       python3 verify.py cairn.pub PROOF.json ...    (proofs printed by `cairn proof`)

Needs Python 3.8+ and the `cryptography` package. Checks:
  1. manifest.json is signed by the key in cairn.pub (minisign format);
  2. every file listed in manifest.json and SHA256SUMS has the recorded SHA-256 and size,
     and no file is missing or unlisted;
  3. the lake checkpoint in manifest.json is signed by the same key and matches the manifest;
  4. every lake object's inclusion proof leads to the checkpoint's Merkle root (RFC 6962), and
     every run manifest is signed by the key of its time, each key rotation's handover checked;
  5. in a population pack: the SQL is the one population.json names, the row count, every row's
     digest, the digest list and the rows' Merkle root; each chain's sequence range recounted;
     and a sample redrawn from its seed, each sampled row's membership proof checked;
  6. with sampled events (evidence/sample.jsonl): each sits in a bundled lake object with an
     inclusion proof (and, when pyarrow is installed, at the row it names); its text hashes
     (RFC 8785, SHA-256) to its claimed hash; its signature verifies with the source key its
     `kid` names (evidence/source-keys.json), allowed for its chain at its time; and each
     disclosed personal value (evidence/disclosures.jsonl, internal bundles only) matches a
     salted commitment the signed event carries.
Exit status 0 when everything verifies, 1 otherwise.
"""
import datetime
import decimal
import fnmatch
import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FIXED = {"README.txt", "SHA256SUMS", "manifest.json", "manifest.json.minisig", "verify.py"}


class Failure(Exception):
    pass


def read_public_key(path):
    lines = [l.strip() for l in open(path, encoding="utf-8").read().splitlines()]
    lines = [l for l in lines if l and not l.startswith("untrusted comment:") and not l.startswith("#")]
    raw = base64.b64decode(lines[-1])
    if len(raw) != 42 or raw[:2] != b"Ed":
        raise Failure(f"{path} is not a minisign public key")
    return raw[2:10], raw[10:]


def ed25519_verify(pk, sig, msg, what):
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
    except InvalidSignature:
        raise Failure(f"{what}: signature does not verify")


def check_minisign(key_id, pk, message, sig_text, what="manifest.json.minisig"):
    lines = sig_text.split("\n")
    if len(lines) < 4 or not lines[2].startswith("trusted comment: "):
        raise Failure(f"{what} is not a minisign signature")
    sig = base64.b64decode(lines[1])
    if len(sig) != 74 or sig[2:10] != key_id:
        raise Failure(f"{what} was made by another key")
    if sig[:2] == b"Ed":
        signed = message
    elif sig[:2] == b"ED":
        signed = hashlib.blake2b(message, digest_size=64).digest()
    else:
        raise Failure(f"{what} uses an unknown algorithm")
    ed25519_verify(pk, sig[10:], signed, what)
    trusted = lines[2][len("trusted comment: "):].encode()
    ed25519_verify(pk, base64.b64decode(lines[3]), sig[10:] + trusted, f"{what} trusted comment")


def key_of_line(line, what):
    raw = base64.b64decode(line)
    if len(raw) != 42 or raw[:2] != b"Ed":
        raise Failure(f"{what} is not a minisign public key")
    return raw[2:10], raw[10:]


def handover(text, sig_text, key, what):
    """Checks a run manifest's signature with `key`; for a key rotation run (which the key it
    hands over to signs), also the old key's signature over the handover. Returns the old key,
    or None when the run is not a rotation."""
    check_minisign(key[0], key[1], text, sig_text, what + " signature")
    run = json.loads(text)
    rotation = run.get("rotation")
    if not rotation:
        return None
    if key_of_line(rotation["to"], f"{what}: rotation.to") != key:
        raise Failure(f"{what}: the rotation hands over to a key other than the one that signed it")
    old = key_of_line(rotation["from"], f"{what}: rotation.from")
    previous = run["previous"]
    statement = (f'cairn key rotation v1\nfrom {rotation["from"]}\nto {rotation["to"]}\n'
                 f'after {previous["run_id"]} {previous["sha256"]}\n').encode()
    check_minisign(old[0], old[1], statement, rotation["statement_signature"],
                   f"{what}: the old key's signature over the rotation statement")
    return old


def check_run_manifests(key_id, pk, manifest):
    # Each run manifest is signed by the key of its time: the trusted key signs the newest runs;
    # walking back, each key rotation run (signed by the key it hands over to) names the key
    # before it, whose signature over the rotation statement proves the handover.
    runs = sorted(f["path"] for f in manifest["files"] if f["kind"] == "run_manifest")
    key = (key_id, pk)
    handovers = 0
    for path in reversed(runs):
        old = handover(open(path, "rb").read(), open(path + ".minisig", encoding="utf-8").read(), key, path)
        if old is not None:
            key = old
            handovers += 1
    if runs:
        print(f"OK  {len(runs)} run manifests are each signed by the key of their time ({handovers} key handovers followed)")


def sha256_file(path):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def check_note(note, name, pk):
    """C2SP signed note: returns the text when a signature by (name, key) verifies."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise Failure("checkpoint is not a signed note")
    text += "\n"
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pk).digest()[:4]
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            raise Failure("checkpoint signature line is malformed")
        signer, _, b64 = line[2:].rpartition(" ")
        raw = base64.b64decode(b64)
        if signer == name and raw[:4] == key_id:
            ed25519_verify(pk, raw[4:], text.encode(), "checkpoint")
            return text
    raise Failure(f"checkpoint has no signature by {name}")


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, proof):
    if size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    path = ([root1] if size1 & (size1 - 1) == 0 else []) + proof
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


def checkpoint_of(note, origin, pk):
    lines = check_note(note, origin, pk).split("\n")
    if lines[0] != origin:
        raise Failure("checkpoint is for another log")
    return int(lines[1]), base64.b64decode(lines[2])


def checkpoint_by_any(note, keys):
    # A checkpoint signed by any of the lake's keys (its origin names the key).
    for key_id, pk in keys:
        try:
            return checkpoint_of(note, "cairn/%016X" % struct.unpack("<Q", key_id)[0], pk)
        except Failure:
            continue
    raise Failure("a checkpoint is signed by none of the lake's keys")


def verify_proof_file(path, key_id, pk):
    p = json.load(open(path, encoding="utf-8"))
    # Across key rotations: the handovers lead from the trusted key to each key before it.
    keys = [(key_id, pk)]
    for i, h in enumerate(p.get("handovers", [])):
        old = handover(h["manifest"].encode(), h["signature"], keys[-1], f"{path}: handover {i}")
        if old is None:
            raise Failure(f"{path}: handover {i} is not a key rotation run")
        keys.append(old)
    if p.get("format") == "cairn-inclusion-proof/1":
        size, root = checkpoint_by_any(p["checkpoint"], keys)
        leaf_bytes = canonical({"key": p["key"], "sha256": p["sha256"], "size": p["size"], "table": p["table"]})
        leaf = hashlib.sha256(b"\x00" + leaf_bytes).digest()
        proof = [bytes.fromhex(h) for h in p["proof"]]
        if p["tree_size"] != size or not verify_inclusion(p["leaf_index"], size, leaf, proof, root):
            raise Failure(f"{path}: inclusion proof does not lead to the checkpoint root")
        print(f'OK  {p["key"]} is leaf {p["leaf_index"]} of tree size {size}')
    elif p.get("format") == "cairn-consistency-proof/1":
        size1, root1 = checkpoint_by_any(p["old_checkpoint"], keys)
        size2, root2 = checkpoint_by_any(p["new_checkpoint"], keys)
        if not verify_consistency(size1, size2, root1, root2, [bytes.fromhex(h) for h in p["proof"]]):
            raise Failure(f"{path}: consistency proof does not hold")
        across = f" (across {len(keys) - 1} key rotations)" if len(keys) > 1 else ""
        print(f"OK  tree size {size1} is a prefix of tree size {size2}: the log only grew{across}")
    else:
        raise Failure(f"{path}: not a Cairn proof")


def merkle_root(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def lines_of(path):
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        raise Failure(f"{path}: the last line has no newline")
    return data.split(b"\n")[:-1] if data else []


def ranges(pairs):
    by_chain = {}
    for chain, seq in pairs:
        by_chain.setdefault(chain, []).append(seq)
    out = []
    for chain in sorted(by_chain, key=lambda c: c.encode()):
        seqs = sorted(set(by_chain[chain]))
        missing, total = [], 0
        for a, b in zip(seqs, seqs[1:]):
            total += b - a - 1
            missing.extend(range(a + 1, min(b, a + 1 + 1000 - len(missing))))
        out.append({"chain": chain, "first_seq": seqs[0], "last_seq": seqs[-1], "events": len(by_chain[chain]),
                    "distinct": len(seqs), "missing": missing, "missing_total": total, "complete": total == 0})
    return out


def check_population(folder):
    summary = json.load(open(f"{folder}/population.json", encoding="utf-8"))
    name = summary["population"]["name"]
    query = summary["query"]
    if sha256_file(query["file"])[0] != query["sha256"]:
        raise Failure(f'{query["file"]} is not the SQL population.json names')
    rows = lines_of(f"{folder}/rows.jsonl")
    digests = [d.decode() for d in lines_of(f"{folder}/digests.txt")]
    if len(rows) != summary["row_count"]:
        raise Failure(f'{folder}/rows.jsonl holds {len(rows)} rows; population.json says {summary["row_count"]}')
    if len(digests) != len(rows):
        raise Failure(f"{folder}/digests.txt lists {len(digests)} digests for {len(rows)} rows")
    for i, (row, digest) in enumerate(zip(rows, digests), 1):
        if hashlib.sha256(row).hexdigest() != digest:
            raise Failure(f"{folder}/rows.jsonl line {i}: its SHA-256 is not line {i} of digests.txt")
    if sha256_file(f"{folder}/digests.txt")[0] != summary["rows_sha256"]:
        raise Failure(f"{folder}/digests.txt does not give rows_sha256")
    leaves = [hashlib.sha256(b"\x00" + row).digest() for row in rows]
    if merkle_root(leaves).hex() != summary["rows_merkle_root"]:
        raise Failure("the rows do not give rows_merkle_root")
    read = {o["key"] for o in summary["objects_read"]}
    for i, row in enumerate(rows, 1):
        obj = json.loads(row).get("lake_object")
        if obj is not None and (obj not in read or not os.path.isfile("store/" + obj)):
            raise Failure(f"{folder}/rows.jsonl line {i}: lake object {obj} is not one the population read")
    print(f"OK  population {name}: {len(rows)} rows, each matching its digest; rows_sha256 and the Merkle root agree")
    if os.path.isfile(f"{folder}/sequence.jsonl"):
        pairs = []
        for line in lines_of(f"{folder}/sequence.jsonl"):
            item = json.loads(line)
            pairs.append((item["chain"], item["seq"]))
        if ranges(pairs) != summary["completeness"]:
            raise Failure(f"each chain's range recounted from {folder}/sequence.jsonl differs from population.json")
        gaps = [r["chain"] for r in summary["completeness"] if not r["complete"]]
        state = "a seq is missing on " + ", ".join(gaps) if gaps else "no seq is missing"
        print(f'OK  {len(summary["completeness"])} chain ranges recounted from {folder}/sequence.jsonl: {state}')
    if summary.get("sample"):
        sample = json.load(open(summary["sample"]["file"], encoding="utf-8"))
        if sample["seed"] != summary["sample"]["seed"] or sample["tree_size"] != len(rows) \
                or sample["rows_merkle_root"] != summary["rows_merkle_root"]:
            raise Failure("the sample is not of this population")
        seed = sample["seed"]
        ranked = sorted((hashlib.sha256(f"{seed}:{d}".encode()).hexdigest(), i) for i, d in enumerate(digests))
        drawn = sorted(i for _, i in ranked[:sample["size"]])
        if [r["index"] for r in sample["rows"]] != drawn:
            raise Failure("the sample's rows are not the ones its seed draws")
        root = bytes.fromhex(sample["rows_merkle_root"])
        for r in sample["rows"]:
            row = r["row"].encode()
            if hashlib.sha256(row).hexdigest() != r["sha256"]:
                raise Failure(f'sampled row {r["index"]}: its SHA-256 is not the one stated')
            leaf = hashlib.sha256(b"\x00" + row).digest()
            if not verify_inclusion(r["index"], sample["tree_size"], leaf, [bytes.fromhex(h) for h in r["proof"]], root):
                raise Failure(f'sampled row {r["index"]}: its membership proof does not lead to rows_merkle_root')
        print(f'OK  sample of {len(drawn)} rows redrawn from seed {seed!r}; each proves membership')


def jcs_number(x):
    # ECMAScript's Number.prototype.toString, as RFC 8785 section 3.2.2.3 requires.
    if x != x or x in (float("inf"), float("-inf")):
        raise Failure("a number that is not finite has no canonical form")
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    t = decimal.Decimal(repr(abs(x))).as_tuple()
    n = t.exponent + len(t.digits)
    digits = "".join(map(str, t.digits)).rstrip("0")
    k = len(digits)
    sign = "-" if x < 0 else ""
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def jcs(value):
    # RFC 8785 (JCS): members sorted by their UTF-16 code units, no spaces.
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return jcs_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in keys) + "}"


def canonical(obj):
    return jcs(obj).encode("utf-8")


def event_hash(event):
    # Chain event v1: SHA-256 of the canonical event without `hash` and `sig`.
    body = {k: v for k, v in event.items() if k not in ("hash", "sig")}
    return hashlib.sha256(canonical(body)).hexdigest()


def rfc3339(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def commitments(value, found):
    # Every salted digest a JSON value commits to: `_sd` lists and hidden array elements.
    if isinstance(value, dict):
        if list(value) == ["..."]:
            found.add(value["..."])
        for d in value.get("_sd", []):
            found.add(d)
        for v in value.values():
            commitments(v, found)
    elif isinstance(value, list):
        for v in value:
            commitments(v, found)


def salted_digest(disclosure):
    # RFC 9901: base64url (no padding) of SHA-256 over the disclosure's text.
    return base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).decode().rstrip("=")


def check_sampled_events(listed):
    keys = json.load(open("evidence/source-keys.json", encoding="utf-8"))["keys"]
    disclosed = {}
    if os.path.isfile("evidence/disclosures.jsonl"):
        for line in lines_of("evidence/disclosures.jsonl"):
            d = json.loads(line)
            disclosed.setdefault((d["chain"], d["seq"], d["hash"]), []).append(d["disclosure"])
    try:
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    events = values = 0
    for line in lines_of("evidence/sample.jsonl"):
        s = json.loads(line)
        name = f'sampled event {s["chain"]} seq {s["seq"]}'
        obj = listed.get(s["lake_object"])
        if obj is None or not obj.get("inclusion"):
            raise Failure(f"{name}: its lake object {s['lake_object']} is not in the bundle with an inclusion proof")
        event = json.loads(s["event_json"])
        digest = event_hash(event)
        if digest != event.get("hash") or digest != s["hash"] or (event.get("chain"), event.get("seq")) != (s["chain"], s["seq"]):
            raise Failure(f"{name}: its text does not hash to its claimed hash")
        if pq is not None:
            row = pq.read_table(s["lake_object"]).slice(s["row"], 1).to_pylist()
            if not row or row[0]["event_json"] != s["event_json"]:
                raise Failure(f"{name}: row {s['row']} of {s['lake_object']} is not this event")
        key = keys.get(event.get("kid"))
        if key is None:
            raise Failure(f'{name}: its key {event.get("kid")!r} is not among the source keys')
        chains = key.get("chains")
        if chains is not None and not any(fnmatch.fnmatchcase(s["chain"], c) for c in chains):
            raise Failure(f'{name}: key {event["kid"]} may not sign chain {s["chain"]}')
        at = rfc3339(event["ts"])
        if (key.get("not_before") and at < rfc3339(key["not_before"])) \
                or (key.get("not_after") and at > rfc3339(key["not_after"])) \
                or (key.get("revoked_at") and at >= rfc3339(key["revoked_at"])):
            raise Failure(f'{name}: key {event["kid"]} was not valid at {event["ts"]}')
        ed25519_verify(base64.b64decode(key["public_key"]), base64.b64decode(event["sig"]), bytes.fromhex(digest), name)
        found = set()
        commitments(event, found)
        pending = disclosed.get((s["chain"], s["seq"], s["hash"]), [])
        while pending:
            # A disclosed value may hold commitments of its own: match until nothing is left.
            matched = [d for d in pending if salted_digest(d) in found]
            if not matched:
                raise Failure(f"{name}: a disclosed value matches no commitment of the signed event")
            for d in matched:
                commitments(json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4))), found)
            values += len(matched)
            pending = [d for d in pending if d not in matched]
        events += 1
    rows = "each at its row (pyarrow)" if pq is not None else "rows not re-read (pyarrow is not installed)"
    print(f"OK  {events} sampled events: each in a proven lake object, {rows}, hashing to its hash and signed by its chain's key")
    if values:
        print(f"OK  {values} disclosed values match the salted commitments of their signed events")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip())
        return 2
    key_id, pk = read_public_key(argv[1])
    if len(argv) > 2:
        for path in argv[2:]:
            verify_proof_file(path, key_id, pk)
        return 0
    manifest_bytes = open("manifest.json", "rb").read()
    check_minisign(key_id, pk, manifest_bytes, open("manifest.json.minisig", encoding="utf-8").read())
    print("OK  manifest.json is signed by key %016X" % struct.unpack("<Q", key_id)[0])
    manifest = json.loads(manifest_bytes)

    sums = {}
    for line in open("SHA256SUMS", encoding="utf-8").read().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    present = set()
    for folder, _, names in os.walk("."):
        for n in names:
            present.add(os.path.relpath(os.path.join(folder, n), ".").replace(os.sep, "/"))
    listed = {f["path"] for f in manifest["files"]}
    extra = present - listed - FIXED
    if extra:
        raise Failure("files not in the signed manifest: " + ", ".join(sorted(extra)))
    for name, digest in sorted(sums.items()):
        if not os.path.isfile(name):
            raise Failure(f"{name} is missing")
        if sha256_file(name)[0] != digest:
            raise Failure(f"{name} does not match SHA256SUMS")
    for f in manifest["files"]:
        if f["path"] not in sums or sums[f["path"]] != f["sha256"]:
            raise Failure(f'{f["path"]} is not in SHA256SUMS with the manifest\'s digest')
        if sha256_file(f["path"]) != (f["sha256"], f["size"]):
            raise Failure(f'{f["path"]} does not match the signed manifest')
    print(f"OK  {len(sums)} files match SHA256SUMS and the signed manifest")

    origin = "cairn/%016X" % struct.unpack("<Q", key_id)[0]
    text = check_note(manifest["checkpoint"], origin, pk)
    lines = text.split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    if lines[0] != origin or size != manifest["merkle_size"] or root.hex() != manifest["merkle_root"]:
        raise Failure("the checkpoint does not match the manifest's Merkle tree")
    print(f"OK  checkpoint {origin} tree size {size} root {root.hex()} is signed by the same key")

    proofs = 0
    for f in manifest["files"]:
        inc = f.get("inclusion")
        if not inc:
            continue
        leaf_bytes = canonical({"key": inc["key"], "sha256": f["sha256"], "size": f["size"], "table": inc["table"]})
        leaf = hashlib.sha256(b"\x00" + leaf_bytes).digest()
        proof = [bytes.fromhex(h) for h in inc["proof"]]
        if inc["tree_size"] != size or not verify_inclusion(inc["leaf_index"], size, leaf, proof, root):
            raise Failure(f'{f["path"]}: inclusion proof does not lead to the checkpoint root')
        proofs += 1
    print(f"OK  {proofs} inclusion proofs lead to the checkpoint root")
    check_run_manifests(key_id, pk, manifest)
    if os.path.isfile("evidence/sample.jsonl"):
        check_sampled_events({f["path"]: f for f in manifest["files"]})
    for f in manifest["files"]:
        folder, _, name = f["path"].rpartition("/")
        if f["kind"] == "population_summary" and name == "population.json" and folder.startswith("population/"):
            check_population(folder)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (Failure, OSError, ValueError, KeyError) as e:
        print(f"FAILED {e}")
        sys.exit(1)
