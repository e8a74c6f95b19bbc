//! A fleet of simulated printers: printer `i` is answered by agent `i % n`.

use std::sync::Arc;

use super::agent::Agent;

/// The agents of a simulated fleet. Printer `i` uses `agents[i % agents.len()]`, so a few
/// recordings serve any number of printers (per-printer identity is not simulated yet).
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub agents: Vec<Arc<Agent>>,
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
}
