//! The messages the chat server and its clients exchange.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What goes between a client and the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Message {
    /// A client joins: the server answers with `ConnectResponse` and from
    /// then on sends it every other client's messages.
    ConnectRequest,
    /// The server has the client: it may send its messages.
    ConnectResponse,
    /// One line of chat, from the client named `nickname`.
    ChatMsg {
        nickname: String,
        message: String,
        ts: DateTime<Utc>,
    },
}
