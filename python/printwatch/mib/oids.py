"""Numeric OIDs of the standard MIBs printwatch reads, and the enumerations it decodes.

Sources, all IETF or PWG standards (numeric OIDs: Debian ships no IETF MIB files and the engine
needs none):

* SNMPv2-MIB (RFC 3418): the system group.
* IF-MIB (RFC 2863): ``ifPhysAddress``.
* HOST-RESOURCES-MIB (RFC 2790): ``hrDeviceDescr``, ``hrDeviceStatus``, ``hrPrinterStatus``,
  ``hrPrinterDetectedErrorState``.
* Printer-MIB v2 (RFC 3805) and its textual conventions (IANA-PRINTER-MIB, RFC 3805 section 7):
  the general, input, marker, supplies, colorant and alert tables.
* PWG Imaging System Counter MIB (PWG 5106.1-2007, ``PWG-IMAGING-COUNTER-MIB``): the
  ``icMonitorImpressions`` counters of the printer service, the vendor-neutral fallback for
  billing meters.
"""

from __future__ import annotations

# --- SNMPv2-MIB (RFC 3418) ---------------------------------------------------------------------
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"

#: The system group by the name the poll document gives it under ``sys``.
SYSTEM = {
    "descr": SYS_DESCR,
    "object_id": SYS_OBJECT_ID,
    "uptime": SYS_UPTIME,
    "contact": SYS_CONTACT,
    "name": SYS_NAME,
    "location": SYS_LOCATION,
}

# --- IF-MIB (RFC 2863) -------------------------------------------------------------------------
#: ifPhysAddress of ifIndex 1 and 2: a printer's Ethernet port is one of the first two
#: interfaces in every recording that has one (the other is loopback or Wi-Fi).
IF_PHYS_ADDRESS = ("1.3.6.1.2.1.2.2.1.6.1", "1.3.6.1.2.1.2.2.1.6.2")

# --- HOST-RESOURCES-MIB (RFC 2790), device 1 (the printer) --------------------------------------
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2.1"
#: hrDeviceType of a printer (HOST-RESOURCES-TYPES: hrDevicePrinter).
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3.1"
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5.1"
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1.1"
HR_PRINTER_ERROR_STATE = "1.3.6.1.2.1.25.3.5.1.2.1"

#: hrDeviceStatus values.
HR_DEVICE_STATUS_NAMES = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
#: hrPrinterStatus values; the poll document folds other(1) and unknown(2) as the contract says.
HR_PRINTER_STATUS_NAMES = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
#: hrPrinterDetectedErrorState bits, bit 0 being the most significant bit of the first octet
#: (RFC 2790; bits 8-15 were added by RFC 3805 section 2.2.13.2 in a second octet).
HR_PRINTER_ERROR_BITS = (
    "lowPaper",
    "noPaper",
    "lowToner",
    "noToner",
    "doorOpen",
    "jammed",
    "offline",
    "serviceRequested",
    "inputTrayMissing",
    "outputTrayMissing",
    "markerSupplyMissing",
    "outputNearFull",
    "outputFull",
    "inputTrayEmpty",
    "overduePreventMaint",
)

# --- Printer-MIB v2 (RFC 3805) -----------------------------------------------------------------
PRT_GENERAL_PRINTER_NAME = "1.3.6.1.2.1.43.5.1.1.16.1"
PRT_GENERAL_SERIAL_NUMBER = "1.3.6.1.2.1.43.5.1.1.17.1"

PRT_INPUT_TABLE = "1.3.6.1.2.1.43.8.2"
PRT_MARKER_TABLE = "1.3.6.1.2.1.43.10.2"
PRT_SUPPLIES_TABLE = "1.3.6.1.2.1.43.11.1"
PRT_COLORANT_TABLE = "1.3.6.1.2.1.43.12.1"
PRT_ALERT_TABLE = "1.3.6.1.2.1.43.18.1"

#: Tables by name (the names ``warnings`` and the raw poll use).
TABLES = {
    "prtMarkerSuppliesTable": PRT_SUPPLIES_TABLE,
    "prtMarkerTable": PRT_MARKER_TABLE,
    "prtMarkerColorantTable": PRT_COLORANT_TABLE,
    "prtInputTable": PRT_INPUT_TABLE,
    "prtAlertTable": PRT_ALERT_TABLE,
}
TABLE_NAMES = {oid: name for name, oid in TABLES.items()}

#: Column numbers (the entry is ``<table>.1``; a cell is ``<table>.1.<column>.<index>``).
SUPPLY_COLUMNS = {
    "marker_index": 2,
    "colorant_index": 3,
    "class": 4,
    "type": 5,
    "description": 6,
    "unit": 7,
    "max_capacity": 8,
    "level": 9,
}
COLORANT_COLUMNS = {"marker_index": 2, "role": 3, "value": 4, "tonality": 5}
MARKER_COLUMNS = {"counter_unit": 3, "life_count": 4, "power_on_count": 5}
INPUT_COLUMNS = {
    "capacity_unit": 8,
    "max_capacity": 9,
    "level": 10,
    "status": 11,
    "media_name": 12,
    "name": 13,
    "description": 18,
    "media_type": 21,
}
ALERT_COLUMNS = {
    "severity": 2,
    "training": 3,
    "group": 4,
    "group_index": 5,
    "location": 6,
    "code": 7,
    "description": 8,
    "time": 9,
}

#: prtMarkerSuppliesClass (PrtMarkerSuppliesClassTC).
SUPPLY_CLASSES = {1: "other", 3: "consumed", 4: "filled"}

#: prtMarkerSuppliesType (PrtMarkerSuppliesTypeTC, IANA-PRINTER-MIB).
SUPPLY_TYPES = {
    1: "other",
    2: "unknown",
    3: "toner",
    4: "wasteToner",
    5: "ink",
    6: "inkCartridge",
    7: "inkRibbon",
    8: "wasteInk",
    9: "opc",
    10: "developer",
    11: "fuserOil",
    12: "solidWax",
    13: "ribbonWax",
    14: "wasteWax",
    15: "fuser",
    16: "coronaWire",
    17: "fuserOilWick",
    18: "cleanerUnit",
    19: "fuserCleaningPad",
    20: "transferUnit",
    21: "tonerCartridge",
    22: "fuserOiler",
    23: "water",
    24: "wasteWater",
    25: "glueWaterAdditive",
    26: "wastePaper",
    27: "bindingSupply",
    28: "bandingSupply",
    29: "stitchingWire",
    30: "shrinkWrap",
    31: "paperWrap",
    32: "staples",
    33: "inserts",
    34: "covers",
    35: "matteToner",
    36: "matteInk",
}

#: prtMarkerSuppliesSupplyUnit (PrtMarkerSuppliesSupplyUnitTC).
SUPPLY_UNITS = {
    1: "other",
    2: "unknown",
    3: "tenThousandthsOfInches",
    4: "micrometers",
    7: "impressions",
    8: "sheets",
    11: "hours",
    12: "thousandthsOfOunces",
    13: "tenthsOfGrams",
    14: "hundrethsOfFluidOunces",
    15: "tenthsOfMilliliters",
    16: "feet",
    17: "meters",
    18: "items",
    19: "percent",
}
UNIT_PERCENT = 19

#: prtMarkerCounterUnit (PrtMarkerCounterUnitTC).
COUNTER_UNITS = {
    3: "tenThousandthsOfInches",
    4: "micrometers",
    5: "characters",
    6: "lines",
    7: "impressions",
    8: "sheets",
    9: "dotRow",
    11: "hours",
    16: "feet",
    17: "meters",
}

#: prtInputType is not needed; prtInputCapacityUnit (PrtCapacityUnitTC).
CAPACITY_UNITS = {
    1: "other",
    2: "unknown",
    3: "tenThousandthsOfInches",
    4: "micrometers",
    8: "sheets",
    16: "feet",
    17: "meters",
}

#: prtAlertSeverityLevel (PrtAlertSeverityLevelTC).
ALERT_SEVERITIES = {1: "other", 3: "critical", 4: "warning", 5: "warningBinaryChangeEvent"}
#: prtAlertTrainingLevel (PrtAlertTrainingLevelTC).
ALERT_TRAINING = {
    1: "other",
    2: "unknown",
    3: "untrained",
    4: "trained",
    5: "fieldService",
    6: "management",
    7: "noInterventionRequired",
}
#: prtAlertGroup (PrtAlertGroupTC).
ALERT_GROUPS = {
    1: "other",
    3: "hostResourcesMIBStorageTable",
    4: "hostResourcesMIBDeviceTable",
    5: "generalPrinter",
    6: "cover",
    7: "localization",
    8: "input",
    9: "output",
    10: "marker",
    11: "markerSupplies",
    12: "markerColorant",
    13: "mediaPath",
    14: "channel",
    15: "interpreter",
    16: "consoleDisplayBuffer",
    17: "consoleLights",
    18: "alert",
    30: "finDevice",
    31: "finSupply",
    32: "finSupplyMediaInput",
    33: "finAttribute",
}
#: prtAlertCode (PrtAlertCodeTC, IANA-PRINTER-MIB).
ALERT_CODES = {
    1: "other",
    2: "unknown",
    3: "coverOpen",
    4: "coverClosed",
    5: "interlockOpen",
    6: "interlockClosed",
    7: "configurationChange",
    8: "jam",
    9: "subunitMissing",
    10: "subunitLifeAlmostOver",
    11: "subunitLifeOver",
    12: "subunitAlmostEmpty",
    13: "subunitEmpty",
    14: "subunitAlmostFull",
    15: "subunitFull",
    16: "subunitNearLimit",
    17: "subunitAtLimit",
    18: "subunitOpened",
    19: "subunitClosed",
    20: "subunitTurnedOn",
    21: "subunitTurnedOff",
    22: "subunitOffline",
    23: "subunitPowerSaver",
    24: "subunitWarmingUp",
    25: "subunitAdded",
    26: "subunitRemoved",
    27: "subunitResourceAdded",
    28: "subunitResourceRemoved",
    29: "subunitRecoverableFailure",
    30: "subunitUnrecoverableFailure",
    31: "subunitRecoverableStorageError",
    32: "subunitUnrecoverableStorageError",
    33: "subunitMotorFailure",
    34: "subunitMemoryExhausted",
    35: "subunitUnderTemperature",
    36: "subunitOverTemperature",
    37: "subunitTimingFailure",
    38: "subunitThermistorFailure",
    501: "doorOpen",
    502: "doorClosed",
    503: "poweredUp",
    504: "poweredDown",
    505: "printerNMSReset",
    506: "printerManualReset",
    507: "printerReadyToPrint",
    801: "inputMediaTrayMissing",
    802: "inputMediaSizeChange",
    803: "inputMediaWeightChange",
    804: "inputMediaTypeChange",
    805: "inputMediaColorChange",
    806: "inputMediaFormPartsChange",
    807: "inputMediaSupplyLow",
    808: "inputMediaSupplyEmpty",
    809: "inputManualInputRequest",
    810: "inputManualInputRequestCleared",
    811: "inputTrayPositionFailure",
    812: "inputTrayElevationFailure",
    813: "inputCannotFeedSizeSelected",
    901: "outputMediaTrayMissing",
    902: "outputMediaTrayAlmostFull",
    903: "outputMediaTrayFull",
    904: "outputMailboxSelectFailure",
    1001: "markerFuserUnderTemperature",
    1002: "markerFuserOverTemperature",
    1003: "markerFuserTimingFailure",
    1004: "markerFuserThermistorFailure",
    1005: "markerAdjustingPrintQuality",
    1101: "markerTonerEmpty",
    1102: "markerInkEmpty",
    1103: "markerPrintRibbonEmpty",
    1104: "markerTonerAlmostEmpty",
    1105: "markerInkAlmostEmpty",
    1106: "markerPrintRibbonAlmostEmpty",
    1107: "markerWasteTonerReceptacleAlmostFull",
    1108: "markerWasteInkReceptacleAlmostFull",
    1109: "markerWasteTonerReceptacleFull",
    1110: "markerWasteInkReceptacleFull",
    1111: "markerOpcLifeAlmostOver",
    1112: "markerOpcLifeOver",
    1113: "markerDeveloperAlmostEmpty",
    1114: "markerDeveloperEmpty",
    1115: "markerTonerCartridgeMissing",
    1301: "mediaPathMediaTrayMissing",
    1302: "mediaPathMediaTrayAlmostFull",
    1303: "mediaPathMediaTrayFull",
    1304: "mediaPathCannotDuplexMediaSelected",
    1501: "interpreterMemoryIncrease",
    1502: "interpreterMemoryDecrease",
    1503: "interpreterCartridgeAdded",
    1504: "interpreterCartridgeDeleted",
    1505: "interpreterResourceAdded",
    1506: "interpreterResourceDeleted",
    1507: "interpreterResourceUnavailable",
    1509: "interpreterComplexPageEncountered",
    1801: "alertRemovalOfBinaryChangeEntry",
}

# --- PWG Imaging System Counter MIB (PWG 5106.1-2007, revised 2008) ------------------------------
# imagingCounterMIB is 1.3.6.1.4.1.2699.1.3 (pysnmp-mibs PWG-IMAGING-COUNTER-MIB, MODULE-IDENTITY
# revisions 2005-12-23 and 2008-03-18). Tables indexed by (icKeyIndex, icWorkType, icPersistence).
PWG_COUNTER_MIB = "1.3.6.1.4.1.2699.1.3"
#: icKeyServiceType: what each key counts (the service behind icKeyIndex).
PWG_KEY_SERVICE_TYPE = "1.3.6.1.4.1.2699.1.3.1.2.1.1.2"
#: icImpressionTable and icSheetTable, walked whole; their count columns by name.
PWG_COUNTER_TABLES = {
    "icImpression": (
        "1.3.6.1.4.1.2699.1.3.1.8.1",
        {4: "TotalImps", 5: "MonochromeImps", 6: "BlankImps", 7: "FullColorImps", 8: "HighlightColorImps"},
        "impressions",
    ),
    "icSheet": (
        "1.3.6.1.4.1.2699.1.3.1.10.1",
        {
            4: "TotalSheets",
            5: "MonochromeSheets",
            6: "BlankSheets",
            7: "FullColorSheets",
            8: "HighlightColorSheets",
        },
        "sheets",
    ),
}
#: IcServiceTypeTC, IcWorkTypeTC, IcPersistenceTC.
PWG_SERVICE_TYPES = {
    1: "other", 2: "unknown", 3: "systemTotals", 4: "copy", 5: "emailIn", 6: "emailOut", 7: "faxIn",
    8: "faxOut", 9: "networkFaxIn", 10: "networkFaxOut", 11: "print", 12: "scan", 13: "transform",
}  # fmt: skip
PWG_WORK_TYPES = {
    1: "other", 2: "unknown", 3: "workTotals", 4: "datastream", 5: "auxiliary", 6: "waste", 7: "maintenance"
}  # fmt: skip
PWG_PERSISTENCE = {1: "other", 2: "unknown", 3: "lifetime", 4: "powerOn", 5: "reset"}
