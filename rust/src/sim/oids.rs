//! The OIDs the simulator gives a meaning to (identity, dynamics), in one place that every other
//! part of `sim` may read and that reads nothing itself.

/// sysDescr.0 (SNMPv2-MIB): HP's print servers name their serial in it (`...,SN:XXXX,...`).
pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
/// sysUpTime.0 (SNMPv2-MIB).
pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
/// sysName.0 (SNMPv2-MIB).
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
/// ifPhysAddress (IF-MIB), one per interface.
pub const IF_PHYS_ADDRESS: &str = "1.3.6.1.2.1.2.2.1.6";
/// hrSystemUptime.0 (HOST-RESOURCES-MIB).
pub const HR_SYSTEM_UPTIME: &str = "1.3.6.1.2.1.25.1.1.0";
/// hrDeviceStatus (HOST-RESOURCES-MIB), one per device.
pub const HR_DEVICE_STATUS: &str = "1.3.6.1.2.1.25.3.2.1.5";
/// hrPrinterDetectedErrorState (HOST-RESOURCES-MIB), one per printer device.
pub const HR_PRINTER_DETECTED_ERROR_STATE: &str = "1.3.6.1.2.1.25.3.5.1.2";
/// The Printer-MIB (RFC 3805).
pub const PRINTER_MIB: &str = "1.3.6.1.2.1.43";
/// prtGeneralSerialNumber (Printer-MIB), one per printer device.
pub const PRT_GENERAL_SERIAL_NUMBER: &str = "1.3.6.1.2.1.43.5.1.1.17";
/// prtMarkerLifeCount (Printer-MIB), one per marker.
pub const PRT_MARKER_LIFE_COUNT: &str = "1.3.6.1.2.1.43.10.2.1.4";
/// prtMarkerSuppliesMaxCapacity and prtMarkerSuppliesLevel (Printer-MIB), one per supply.
pub const PRT_SUPPLIES_MAX_CAPACITY: &str = "1.3.6.1.2.1.43.11.1.1.8";
pub const PRT_SUPPLIES_LEVEL: &str = "1.3.6.1.2.1.43.11.1.1.9";
/// prtInputEntry (Printer-MIB): column 2 the type, 9 the max capacity, 10 the current level.
pub const PRT_INPUT_ENTRY: &str = "1.3.6.1.2.1.43.8.2.1";
/// prtAlertEntry (Printer-MIB).
pub const PRT_ALERT_ENTRY: &str = "1.3.6.1.2.1.43.18.1.1";

/// Vendor serial-number variables, asked when a recording has no prtGeneralSerialNumber: the
/// `field = "serial"` entries of python/printwatch/mib/meters/*.toml, where their sources are
/// named (a test keeps the two lists equal).
pub const VENDOR_SERIAL_OIDS: &[&str] = &[
    "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0",  // Brother
    "1.3.6.1.4.1.1602.1.2.1.4.0",            // Canon
    "1.3.6.1.4.1.1248.1.2.2.1.1.1.5.1",      // Epson
    "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0",    // HP
    "1.3.6.1.4.1.1347.43.5.1.1.28.1",        // Kyocera
    "1.3.6.1.4.1.641.2.1.2.1.6.1",           // Lexmark
    "1.3.6.1.4.1.2001.1.1.1.1.11.1.10.45.0", // OKI
    "1.3.6.1.4.1.367.3.2.1.2.1.4.0",         // Ricoh
    "1.3.6.1.4.1.236.11.5.1.1.1.4.0",        // Samsung
    "1.3.6.1.4.1.253.8.53.3.2.1.3.1",        // Xerox
];
