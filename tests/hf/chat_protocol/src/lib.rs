//! The messages of hydroflow's chat example, as the hf-chat-* programs use them.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    ConnectRequest,
    ConnectResponse,
    ChatMsg { nickname: String, message: String, ts: DateTime<Utc> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageWithAddr {
    ConnectRequest { addr: SocketAddr },
    ConnectResponse { addr: SocketAddr },
    ChatMsg { addr: SocketAddr, nickname: String, message: String, ts: DateTime<Utc> },
}

impl MessageWithAddr {
    pub fn from_message(message: Message, addr: SocketAddr) -> Self {
        match message {
            Message::ConnectRequest => Self::ConnectRequest { addr },
            Message::ConnectResponse => Self::ConnectResponse { addr },
            Message::ChatMsg { nickname, message, ts } => Self::ChatMsg { addr, nickname, message, ts },
        }
    }
}
