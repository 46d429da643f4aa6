//! The messages the echo server and client exchange.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One echo: the payload, and when it was last sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoMsg {
    pub payload: String,
    pub ts: DateTime<Utc>,
}
