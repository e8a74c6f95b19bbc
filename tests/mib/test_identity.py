"""Vendor, model, serial and MAC (printwatch.mib.identity), on the recordings' own values."""

from __future__ import annotations

import pytest
from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.identity import (
    enterprise_of,
    identify,
    identity_oids,
    mac_of,
    model_of,
    serial_of,
    vendor_of,
)

from tests.support.mibdata import s


@pytest.mark.parametrize(
    ("descr", "object_id", "vendor"),
    [
        ("Brother NC-8300h, Firmware Ver.1.14", "1.3.6.1.4.1.2435.2.3.9.1", "brother"),
        ("HP ETHERNET MULTI-ENVIRONMENT,ROM J.sp.00,JETDIRECT EX", "1.3.6.1.4.1.1347.41", "hp"),
        ("KYOCERA Document Solutions Printing System", "1.3.6.1.4.1.1347.41", "kyocera"),
        ("TA_UTAX Printing System", "1.3.6.1.4.1.1347.41", "kyocera"),
        ("Gestetner MPC2500/DSc525 1.71 / Gestetner Network Printer", "1.3.6.1.4.1.367.1.1", "ricoh"),
        ("SAVIN MP C4503 1.18", "1.3.6.1.4.1.367.1.1", "ricoh"),
        ("Develop ineo 280", "1.3.6.1.4.1.18334.1.2.1.2.1.50.2.2", "konica_minolta"),
        ("FUJI XEROX ApeosPort-VI C4471;ESS1.0.217", "1.3.6.1.4.1.297.1.11.93.1.35.34.7.1", "fujifilm"),
        ("Xerox AltaLink C8045; SS 100.002", "1.3.6.1.4.1.253.8.62.1.35.2.3.1.1", "xerox"),
        ("TOSHIBA e-STUDIO305CS version NH63.GM.N639", "1.3.6.1.4.1.641.2.71107164", "toshiba"),
        ("OKI OkiLAN 9450g Rev.00.69: Attached to MC873", "1.3.6.1.4.1.2001.1.1.1.1", "oki"),
        ("EPSON Built-in", "1.3.6.1.4.1.1248.1.1.2.1.3.5.69.69.80.83.50", "epson"),
        ("Zebra Wired", "1.3.6.1.4.1.10642.1.1", "zebra"),
        ("Samsung C", None, "samsung"),
        ("", "1.3.6.1.4.1.2385.3.1.112.1.2", "sharp"),
        (None, ".1.3.6.1.4.1.1129.1.2.1", "toshiba"),
        ("Linux printserver", "1.3.6.1.4.1.8072.3.2.10", None),
        (None, None, None),
    ],
)
def test_vendor(descr: str | None, object_id: str | None, vendor: str | None) -> None:
    assert vendor_of(descr, object_id) == vendor


def test_enterprise_of() -> None:
    assert enterprise_of("1.3.6.1.4.1.253.8") == 253
    assert enterprise_of(".1.3.6.1.4.1.1129.1.2.1") == 1129
    assert enterprise_of("1.3.6.1.2.1.1") is None
    assert enterprise_of("garbage") is None


def g(*pairs: tuple[str, bytes | str]) -> dict:  # type: ignore[type-arg]
    return {oid: s(oid, value) for oid, value in pairs}


@pytest.mark.parametrize(
    ("vendor", "descr", "gets", "model"),
    [
        (
            "hp",
            "HP ETHERNET MULTI-ENVIRONMENT",
            g((oids.HR_DEVICE_DESCR, "HP Color LaserJet M452nw")),
            "HP Color LaserJet M452nw",
        ),
        ("epson", "EPSON Built-in", g((oids.HR_DEVICE_DESCR, "EPSON WF-C5790BA")), "EPSON WF-C5790BA"),
        (
            "kyocera",
            "KYOCERA Document Solutions Printing System",
            g(("1.3.6.1.4.1.1347.43.5.1.1.1.1", "FS-1028MFP")),
            "FS-1028MFP",
        ),
        ("canon", "Canon LBP6670 /P", {}, "Canon LBP6670"),
        ("ricoh", "RICOH Aficio MP C3002 2.20 / RICOH Network Printer C model", {}, "RICOH Aficio MP C3002"),
        (
            "dell",
            "Dell B3460dn Laser Printer version NH5.CY.N543 kernel 3.0.0",
            {},
            "Dell B3460dn Laser Printer",
        ),
        ("xerox", "Xerox Phaser 4600; System 35.004.32.000", {}, "Xerox Phaser 4600"),
        ("oki", "OKI OkiLAN 9450g Rev.00.69 Ethernet PrintServer: Attached to MC873 Rev.07.87", {}, "MC873"),
        (
            "hp",
            "HP ETHERNET MULTI-ENVIRONMENT,SN:VNCRC48198,PID:HP LaserJet MFP M130nw",
            {},
            "HP LaserJet MFP M130nw",
        ),
        ("hp", "HP ETHERNET MULTI-ENVIRONMENT,ROM J.sp.00,JETDIRECT EX", {}, None),
        ("zebra", "Zebra Wired", {}, None),
        (
            "xerox",
            "Xerox",
            g(("1.3.6.1.4.1.253.8.51.1.2.1.20.1", "MFG:Xerox; CMD:PCL; MDL:AltaLink C8045; CLS:Printer")),
            "AltaLink C8045",
        ),
    ],
)
def test_model(vendor: str, descr: str, gets: dict, model: str | None) -> None:  # type: ignore[type-arg]
    assert model_of(vendor, descr, gets) == model


def test_serial() -> None:
    prt = oids.PRT_GENERAL_SERIAL_NUMBER
    assert serial_of("canon", "", g((prt, "MKRA012345"))) == "MKRA012345"
    # Placeholders are no serial: the vendor OID, then sysDescr, are tried.
    kyo = "1.3.6.1.4.1.1347.43.5.1.1.28.1"
    assert serial_of("kyocera", "", g((prt, "   "), (kyo, "QUV9600664"))) == "QUV9600664"
    hp = "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0"
    assert serial_of("hp", "", g((hp, bytes.fromhex("0115564E4352433438313938")))) == "VNCRC48198"
    assert serial_of("hp", "HP ETHERNET MULTI-ENVIRONMENT,SN:AAA0A00000,FN:1G11F33", {}) == "AAA0A00000"
    assert serial_of("samsung", "Samsung CLX-3170 Series;S/N AAAAAAA000AAAA000", {}) == "AAAAAAA000AAAA000"
    assert serial_of("samsung", "Samsung M4080FX; V11;NIC ;S/N ", {}) is None
    assert serial_of(None, None, g((prt, "000000"))) is None


def test_mac() -> None:
    one, two = oids.IF_PHYS_ADDRESS
    assert mac_of(g((one, bytes.fromhex("3C2AF4BFF51B")))) == "3c:2a:f4:bf:f5:1b"
    assert mac_of(g((one, b""), (two, bytes.fromhex("0021b743f581")))) == "00:21:b7:43:f5:81"
    assert mac_of(g((one, b"\x00" * 6))) is None
    assert mac_of(g((one, b"abc"))) is None


def test_identify_for_discovery() -> None:
    oids_ = identity_oids()
    assert oids.HR_DEVICE_TYPE in oids_ and oids.PRT_GENERAL_SERIAL_NUMBER in oids_
    assert "1.3.6.1.4.1.1347.43.5.1.1.28.1" in identity_oids("kyocera")
    assert not any(o.startswith("1.3.6.1.4.1.") for o in oids_)
    gets = g(
        (oids.SYS_DESCR, "KYOCERA Document Solutions Printing System"),
        ("1.3.6.1.4.1.1347.43.5.1.1.28.1", "QUV9600664"),
    )
    gets[oids.SYS_OBJECT_ID] = VarBind(oids.SYS_OBJECT_ID, "ObjectIdentifier", "1.3.6.1.4.1.1347.41")
    gets[oids.HR_DEVICE_TYPE] = VarBind(oids.HR_DEVICE_TYPE, "ObjectIdentifier", "1.3.6.1.2.1.25.3.1.5")
    assert identify(gets) == {
        "printer": True,
        "vendor": "kyocera",
        "model": None,
        "serial": "QUV9600664",
        "mac": None,
    }
    linux = {oids.SYS_DESCR: s(oids.SYS_DESCR, "Linux gw 6.1.0")}
    assert identify(linux)["printer"] is False
