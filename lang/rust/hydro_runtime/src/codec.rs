//! A message's payload: bincode 1.x with its default options, the bytes
//! `bincode::serialize` writes and `bincode::deserialize` reads (what
//! hydroflow's `serialize_to_bytes`/`deserialize_from_bytes` use), with a
//! direct path for `Vec<u8>`.
//!
//! serde sees a `Vec<u8>` as a sequence, so bincode writes and reads it a
//! byte at a time through the Serializer; for a kilobyte message that is
//! most of a message's cost.  Its bytes are simple, an 8-byte little-endian
//! length and the bytes themselves, so a `Vec<u8>` is copied whole here:
//! the same bytes both ways, and any payload the direct path does not take
//! (too short for its length) goes to bincode, for bincode's own error.

use std::any::{Any, TypeId};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Append item's payload to buf.
pub(crate) fn encode<T: Serialize + 'static>(item: &T, buf: &mut Vec<u8>) -> bincode::Result<()> {
    if let Some(v) = (item as &dyn Any).downcast_ref::<Vec<u8>>() {
        buf.reserve(8 + v.len());
        buf.extend_from_slice(&(v.len() as u64).to_le_bytes());
        buf.extend_from_slice(v);
        return Ok(());
    }
    bincode::serialize_into(buf, item)
}

/// Read a payload as a T; bytes after the value are ignored, as
/// `bincode::deserialize` ignores them.
pub(crate) fn decode<T: DeserializeOwned + 'static>(b: &[u8]) -> bincode::Result<T> {
    if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() && b.len() >= 8 {
        let n = u64::from_le_bytes(b[..8].try_into().unwrap());
        if n <= (b.len() - 8) as u64 {
            let mut v = Some(b[8..8 + n as usize].to_vec());
            if let Some(t) = (&mut v as &mut dyn Any).downcast_mut::<Option<T>>() {
                return Ok(t.take().unwrap());
            }
        }
    }
    bincode::deserialize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + 'static>(v: T) {
        let mut b = Vec::new();
        encode(&v, &mut b).unwrap();
        assert_eq!(b, bincode::serialize(&v).unwrap());
        assert_eq!(decode::<T>(&b).unwrap(), v);
    }

    #[test]
    fn the_bytes_bincode_writes() {
        same(Vec::<u8>::new());
        same(vec![7u8; 1024]);
        same((3u64, vec![1u8, 2, 3]));
        same("text".to_string());
        same(vec![1u32, 2]);
    }

    #[test]
    fn what_bincode_reads() {
        // trailing bytes are ignored, as bincode ignores them
        let mut b = bincode::serialize(&vec![1u8, 2]).unwrap();
        b.push(9);
        assert_eq!(decode::<Vec<u8>>(&b).unwrap(), vec![1, 2]);
        // a length beyond the payload is bincode's error
        let b = [5u8, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            decode::<Vec<u8>>(&b).unwrap_err().to_string(),
            bincode::deserialize::<Vec<u8>>(&b).unwrap_err().to_string()
        );
        assert!(decode::<Vec<u8>>(&[1, 2]).is_err());
    }
}
