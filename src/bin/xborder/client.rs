//! The connection to xborderd: endpoint, bearer token, deadline, and the CLI's error type.

use std::path::Path;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use xborder::api::pb::assessment_service_client::AssessmentServiceClient;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;
use xborder::rules_io::RuleFileError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server answered with an error; `file` is the YAML file whose fields it names.
    #[error("{status}")]
    Status {
        /// The status.
        status: tonic::Status,
        /// The YAML file sent, to point field violations at `file:line:column`.
        file: Option<(String, String)>,
    },
    /// The server could not be reached.
    #[error("cannot reach {endpoint}: {source}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        source: tonic::transport::Error,
    },
    /// A local file problem.
    #[error("{0}")]
    File(String),
    /// A rule file that does not parse.
    #[error("{0}")]
    RuleFile(RuleFileError),
    /// The command line asks for something this client will not do (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A watch resumed on a server whose store has another history.
    #[error("{0}")]
    StoreChanged(String),
}

impl From<tonic::Status> for CliError {
    fn from(status: tonic::Status) -> Self {
        Self::Status { status, file: None }
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Service = InterceptedService<Channel, Bearer>;

/// Clients of the three services over one connection.
#[derive(Debug, Clone)]
pub struct Client {
    /// The endpoint without a call deadline, for watch streams.
    watch_endpoint: Endpoint,
    bearer: Bearer,
    channel: Channel,
}

fn read_token(path: &Path) -> Result<MetadataValue<Ascii>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        CliError::File(format!(
            "cannot read token file {}: {error}",
            path.display()
        ))
    })?;
    format!("Bearer {}", text.trim()).parse().map_err(|_| {
        CliError::File(format!(
            "token file {} holds an invalid token",
            path.display()
        ))
    })
}

impl Client {
    /// Connects lazily to `endpoint` (the first call connects), reading the token file.
    /// Every unary call, connecting included, must finish within `timeout`.
    pub fn connect(
        endpoint: &str,
        token_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, CliError> {
        if endpoint
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        {
            return Err(CliError::Usage(format!(
                "{endpoint}: this client does not speak TLS yet, and would send the bearer token \
                 in plain text to a server expecting TLS; use an http:// endpoint on a network you trust"
            )));
        }
        let bearer = Bearer(token_file.map(read_token).transpose()?);
        let watch_endpoint = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|source| CliError::Connect {
                endpoint: endpoint.to_owned(),
                source,
            })?
            .connect_timeout(timeout);
        let channel = watch_endpoint.clone().timeout(timeout).connect_lazy();
        Ok(Self {
            watch_endpoint,
            bearer,
            channel,
        })
    }

    /// The assessment service.
    pub fn assessment(&self) -> AssessmentServiceClient<Service> {
        AssessmentServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    /// The rule service.
    pub fn rules(&self) -> RuleServiceClient<Service> {
        RuleServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    /// The watch service on a fresh connection (used to reconnect after a drop), with no
    /// deadline on the stream.
    pub async fn watch_fresh(
        &self,
    ) -> Result<WatchServiceClient<Service>, tonic::transport::Error> {
        let channel = self.watch_endpoint.connect().await?;
        Ok(WatchServiceClient::with_interceptor(
            channel,
            self.bearer.clone(),
        ))
    }
}
