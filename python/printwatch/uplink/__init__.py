"""The appliance's uplink: signed, compact, exactly-once messages to the MSP's collector.

* :mod:`.signing` — the appliance's Ed25519 key and the signed envelope;
* :mod:`.codec` — a message's compressed encoding;
* :mod:`.messages` — what is sent (registration, aggregates, billing reads, reorder triggers,
  assist snapshots, sync), free of repetition;
* :mod:`.outbox` — the outbox in the history store: sequence numbers, acks, retries;
* :mod:`.log` — every transmission kept byte for byte, chained by hashes;
* :mod:`.transport` — HTTPS with the collector's certificate pinned, through a proxy's CONNECT;
* :mod:`.sender` and :mod:`.service` — the loop that drains the outbox, and the scheduler's hooks.
"""

from printwatch.uplink.codec import CodecError, decode_payload, encode_payload
from printwatch.uplink.signing import Identity, SignatureError, open_envelope, seal

__all__ = [
    "CodecError",
    "Identity",
    "SignatureError",
    "decode_payload",
    "encode_payload",
    "open_envelope",
    "seal",
]
