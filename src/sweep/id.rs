//! Stable trial ids.

use super::TrialConfig;
use sha2::{Digest, Sha256};

/// The first 12 hex digits of the SHA-256 of the trial's resolved config as canonical JSON.
pub fn trial_id(config: &TrialConfig) -> String {
    let json = serde_json::to_string(config).expect("trial configs serialise to JSON");
    let digest = Sha256::digest(json.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
