//! A fleet of simulated printers: printer `i` is answered by agent `i % n`.

use std::sync::Arc;

use super::agent::Agent;
use super::snmprec::{Entry, Recording};
use crate::snmp::{OidBuf, Value};

/// prtGeneralSerialNumber (Printer-MIB), one per printer device.
pub const PRT_GENERAL_SERIAL_NUMBER: &str = "1.3.6.1.2.1.43.5.1.1.17";
/// ifPhysAddress (IF-MIB), one per interface.
pub const IF_PHYS_ADDRESS: &str = "1.3.6.1.2.1.2.2.1.6";
/// sysName.0 (SNMPv2-MIB).
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";

/// The agents of a simulated fleet. Printer `i` uses `agents[i % agents.len()]`, so a few
/// recordings serve any number of printers.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub agents: Vec<Arc<Agent>>,
}

/// What identifies one simulated printer, as its agent answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrinterInfo {
    /// prtGeneralSerialNumber, if recorded.
    pub serial: Option<String>,
    /// The first six-octet ifPhysAddress, if recorded.
    pub mac: Option<[u8; 6]>,
    /// sysName.0, if recorded.
    pub sys_name: Option<String>,
}

impl PrinterInfo {
    /// The MAC address as `aa:bb:cc:dd:ee:ff`.
    #[must_use]
    pub fn mac_string(&self) -> Option<String> {
        self.mac.map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
    }
}

impl Fleet {
    #[must_use]
    pub fn new(agents: impl IntoIterator<Item = Agent>) -> Self {
        Self { agents: agents.into_iter().map(Arc::new).collect() }
    }

    /// The agent answering printer `index`, or `None` for an empty fleet.
    #[must_use]
    pub fn agent(&self, index: usize) -> Option<&Agent> {
        if self.agents.is_empty() {
            return None;
        }
        Some(&self.agents[index % self.agents.len()])
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The identity printer `index` answers with, or `None` for an empty fleet.
    #[must_use]
    pub fn describe(&self, index: usize) -> Option<PrinterInfo> {
        let rec = self.agent(index)?.recording();
        let text = |e: &Entry| match e.value() {
            Value::OctetString(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        };
        let serial = first_under(rec, PRT_GENERAL_SERIAL_NUMBER).find_map(text);
        let mac = first_under(rec, IF_PHYS_ADDRESS).find_map(|e| match e.value() {
            Value::OctetString(s) => <[u8; 6]>::try_from(s).ok().filter(|m| m != &[0; 6]),
            _ => None,
        });
        let sys_name = OidBuf::parse(SYS_NAME).ok().and_then(|o| rec.get(o.as_oid()).and_then(text));
        Some(PrinterInfo { serial, mac, sys_name })
    }
}

/// The entries under `prefix` (dotted), in walk order.
fn first_under<'r>(rec: &'r Recording, prefix: &str) -> impl Iterator<Item = &'r Entry> {
    let prefix = OidBuf::parse(prefix).ok();
    let start = prefix.as_ref().map_or(rec.len(), |p| rec.next_index(p.as_oid()));
    rec.entries()[start..]
        .iter()
        .take_while(move |e| prefix.as_ref().is_some_and(|p| e.oid().starts_with(p.as_oid())))
}
