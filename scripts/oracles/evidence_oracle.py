#!/usr/bin/env python3
"""Reference oracle: what the in-toto/DSSE reference implementations say about envaudit's
signed evidence (run with the python of the `evidence` venv, scripts/oracles/setup evidence).

  evidence_oracle.py sslib-verify PUB.pem KEYID ENVELOPE.json
      securesystemslib's DSSE Envelope.verify with the key read by pyca/cryptography and
      given the keyid; prints {"ok": true, "keyids": [...], "payload_sha256": HEX}
  evidence_oracle.py pae-verify PUB.pem ENVELOPE.json
      pyca/cryptography alone, over a PAE computed here from the DSSE spec; prints
      {"ok": true, "verified": N} when every signature verifies
  evidence_oracle.py sslib-sign KEY.pem KEYID PAYLOAD_TYPE PAYLOAD_FILE
      a DSSE envelope signed by securesystemslib's CryptoSigner, as JSON
  evidence_oracle.py statement STATEMENT.json
      in-toto-attestation: the statement parsed strictly into its protobuf (unknown fields
      are errors) and validated; a SLSA Provenance v1 predicate parsed strictly into its
      protobuf and checked for SLSA's required fields; prints {"ok": true, ...}

A rejection prints {"ok": false, "error": "..."} and exits 1; a usage error exits 2.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from google.protobuf import json_format
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey


def out(obj, code=0):
    print(json.dumps(obj, sort_keys=True))
    sys.exit(code)


def b64(s):
    # DSSE allows either alphabet, padded or not
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def sslib_verify(pub_path, keyid, envelope_path):
    with open(pub_path, "rb") as f:
        public = serialization.load_pem_public_key(f.read())
    key = SSlibKey.from_crypto(public, keyid=keyid)
    with open(envelope_path) as f:
        env = Envelope.from_dict(json.load(f))
    try:
        accepted = env.verify([key], 1)
    except VerificationError as e:
        out({"ok": False, "error": str(e)}, 1)
    out({"ok": True, "keyids": sorted(accepted), "payload_sha256": hashlib.sha256(env.payload).hexdigest()})


def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 " + str(len(t)).encode() + b" " + t + b" " + str(len(payload)).encode() + b" " + payload


def pae_verify(pub_path, envelope_path):
    with open(pub_path, "rb") as f:
        public = serialization.load_pem_public_key(f.read())
    with open(envelope_path) as f:
        env = json.load(f)
    message = pae(env["payloadType"], b64(env["payload"]))
    for sig in env["signatures"]:
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(b64(sig["sig"]), message, ec.ECDSA(hashes.SHA256()))
            elif isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(b64(sig["sig"]), message)
            else:
                out({"ok": False, "error": "unsupported key type"}, 2)
        except InvalidSignature:
            out({"ok": False, "error": "signature does not verify over the PAE"}, 1)
    out({"ok": True, "verified": len(env["signatures"])})


def sslib_sign(key_path, keyid, payload_type, payload_path):
    with open(key_path, "rb") as f:
        private = serialization.load_pem_private_key(f.read(), password=None)
    signer = CryptoSigner(private, SSlibKey.from_crypto(private.public_key(), keyid=keyid))
    with open(payload_path, "rb") as f:
        env = Envelope(f.read(), payload_type, {})
    env.sign(signer)
    print(json.dumps(env.to_dict()))


SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"


def statement(path):
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

    with open(path) as f:
        text = f.read()
    try:
        pb = json_format.Parse(text, statement_pb2.Statement(), ignore_unknown_fields=False)
        Statement.copy_from_pb(pb).validate()
        checked = ["statement"]
        if pb.predicate_type == SLSA_PROVENANCE_V1:
            predicate = json.dumps(json.loads(text)["predicate"])
            prov = json_format.Parse(predicate, provenance_pb2.Provenance(), ignore_unknown_fields=False)
            # SLSA Provenance v1's REQUIRED fields
            bd, rd = prov.build_definition, prov.run_details
            if not bd.build_type:
                raise ValueError("buildDefinition.buildType is required")
            if not bd.HasField("external_parameters"):
                raise ValueError("buildDefinition.externalParameters is required")
            if not rd.builder.id:
                raise ValueError("runDetails.builder.id is required")
            for rdpb in list(bd.resolved_dependencies) + list(rd.byproducts) + list(rd.builder.builder_dependencies):
                ResourceDescriptor.copy_from_pb(rdpb).validate()
            checked.append("slsa-provenance-v1")
    except (json_format.ParseError, ValueError) as e:
        out({"ok": False, "error": str(e)}, 1)
    out({"ok": True, "checked": checked, "subjects": len(pb.subject)})


def main():
    commands = {
        "sslib-verify": (sslib_verify, 3),
        "pae-verify": (pae_verify, 2),
        "sslib-sign": (sslib_sign, 4),
        "statement": (statement, 1),
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])


if __name__ == "__main__":
    main()
