//! A client of the path info service, implementing [`PathInfoService`]. What it
//! receives is checked by the layer above (`get` and `list` on
//! `dyn PathInfoService` decode, validate and check the key), as for local backends.

use nix_compat::StorePath;
use prost::Message;
use tonic::transport::Channel;
use tonic::Code;
use tvix_castore::grpc::{Connection, MAX_MESSAGE};

use super::error_of;
use super::generated::path_info_service_client::PathInfoServiceClient;
use super::wire::{GetPathInfoRequest, ListPathInfoRequest, PathInfoProto};
use crate::pathinfo_service::{PathInfoService, PathKey, RawEntry};
use crate::Error;

pub struct GrpcPathInfoService {
    conn: Connection,
}

impl GrpcPathInfoService {
    pub fn new(conn: Connection) -> Self {
        GrpcPathInfoService { conn }
    }

    fn client(&self) -> PathInfoServiceClient<Channel> {
        PathInfoServiceClient::new(self.conn.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}

fn malformed(e: prost::DecodeError) -> Error {
    Error::CorruptPathInfo {
        key: "(being sent)".into(),
        reason: e.to_string(),
    }
}

impl PathInfoService for GrpcPathInfoService {
    fn get_raw(&self, key: &PathKey) -> Result<Option<Vec<u8>>, Error> {
        let mut c = self.client();
        let r = self.conn.block_on(c.get(GetPathInfoRequest {
            digest: key.to_vec(),
        }));
        match r {
            Ok(info) => Ok(Some(info.into_inner().encode_to_vec())),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(error_of(&s)),
        }
    }

    fn put_raw(&self, key: &PathKey, bytes: Vec<u8>) -> Result<(), Error> {
        let info = PathInfoProto::decode(&bytes[..]).map_err(malformed)?;
        let mut c = self.client();
        let stored = self
            .conn
            .block_on(c.put(info.clone()))
            .map_err(|s| error_of(&s))?
            .into_inner();
        if stored != info {
            return Err(Error::CorruptPathInfo {
                key: nix_compat::nixbase32::encode(key),
                reason: "the server stored something other than what was sent".into(),
            });
        }
        Ok(())
    }

    fn list_raw(&self) -> Result<Vec<RawEntry>, Error> {
        let mut c = self.client();
        let infos = self.conn.block_on(async {
            let mut s = c.list(ListPathInfoRequest {}).await?.into_inner();
            let mut out = Vec::new();
            while let Some(info) = s.message().await? {
                out.push(info);
            }
            Ok::<_, tonic::Status>(out)
        });
        let infos = infos.map_err(|s| error_of(&s))?;
        Ok(infos
            .into_iter()
            .map(|info| {
                // Keyed by the path it names; one that names none is reported
                // as corrupt when decoded.
                let key = info
                    .store_path
                    .parse::<StorePath>()
                    .map(|p| p.digest().to_vec())
                    .unwrap_or_default();
                (key, info.encode_to_vec())
            })
            .collect())
    }
}
