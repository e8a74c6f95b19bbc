"""A message's payload on the wire: canonical JSON, compressed with zlib against a preset dictionary.

The payload is a JSON object (the shapes are in :mod:`printwatch.uplink.messages`); it is
serialized without spaces with sorted keys, so the same message always gives the same bytes,
and compressed at level 9 with a preset dictionary of the words every message repeats (key
names, meter names, states), which saves them even in a small message.

Error handling: :func:`decode_payload` raises :class:`CodecError` for bytes that do not
decompress, that decompress to more than ``max_bytes`` (a compression bomb is cut off there,
never inflated whole), that are not UTF-8 JSON, or whose top level is not an object.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from printwatch import PrintwatchError

#: The largest payload a collector inflates (a daily aggregate of 10,000 printers is ~1 MB).
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024

#: Words that messages repeat, for zlib's preset dictionary (the most frequent last). Changing
#: it changes the wire format: it is versioned with the envelope (``signing.VERSION``).
DICTIONARY = (
    b'"supplies""trays""alerts""warnings""descr""object_id""uptime_s""location""contact"'
    b'"lowToner""noToner""doorOpen""jammed""offline""serviceRequested""inputTrayEmpty"'
    b'"toner""drum""fuser""waste""ink""cartridge""black""cyan""magenta""yellow""percent"'
    b'"hp""xerox""canon""ricoh""brother""lexmark""kyocera""konica_minolta""sharp""epson"'
    b'"copy_black""copy_color""print_black""print_color""duplex""large""scan""fax""copy""print"'
    b'"register""aggregate""billing""reorder""snapshot""sync""reorder_point""lead_time"'
    b'"running""warning""down""unknown""idle""printing""cycle""devices""vendor""model""serial"'
    b'"mac""name""address""site""seq""kind""at""data""meters""status""total""color""n""m""s""u"'
)


class CodecError(PrintwatchError):
    """A payload that cannot be decoded; the message says why."""


def encode_payload(message: dict[str, Any]) -> bytes:
    """``message`` as compressed canonical JSON."""
    text = json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return c.compress(text.encode()) + c.flush()


def decode_payload(data: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """The message inside ``data`` (see the module's docstring for the errors)."""
    d = zlib.decompressobj(-15, DICTIONARY)
    try:
        text = d.decompress(data, max_bytes)
    except zlib.error as err:
        raise CodecError(f"payload does not decompress: {err}") from None
    if d.unconsumed_tail:
        raise CodecError(f"payload inflates to more than {max_bytes} bytes")
    if not d.eof:
        raise CodecError("payload is truncated (the compressed stream does not end)")
    if d.unused_data:
        raise CodecError(f"{len(d.unused_data)} bytes after the end of the payload")
    try:
        message = json.loads(text.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CodecError(f"payload is not JSON: {err}") from None
    except RecursionError:  # a well-signed but absurdly nested payload: malformed, not a crash
        raise CodecError("payload nests too deeply") from None
    if not isinstance(message, dict):
        raise CodecError(f"payload is a JSON {type(message).__name__}, not an object")
    return message
