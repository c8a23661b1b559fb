//! The messages of the path info service:
//!
//! ```text
//! service PathInfoService {
//!   rpc Get(GetPathInfoRequest) returns (PathInfo);    // NOT_FOUND if absent
//!   rpc Put(PathInfo) returns (PathInfo);              // its contents must be stored
//!   rpc List(ListPathInfoRequest) returns (stream PathInfo);
//! }
//! ```

pub use crate::pathinfo::PathInfoProto;

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetPathInfoRequest {
    /// The 20-byte digest of the store path.
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListPathInfoRequest {}
