//! One module per subcommand, each an args struct with `run(self)`.

pub mod build;
mod cert;
mod completion;
mod data_roles;
pub mod down;
mod dynamodb;
mod env;
mod init;
mod invoke;
mod project;
mod prune;
mod s3;
mod status;
pub mod up;
mod validate;
pub mod workers;

pub use build::BuildArgs;
pub use cert::CertArgs;
pub use completion::CompletionArgs;
pub use down::DownArgs;
pub use dynamodb::DynamodbArgs;
pub use env::EnvArgs;
pub use init::InitArgs;
pub use invoke::InvokeArgs;
pub use project::ProjectArgs;
pub use prune::PruneArgs;
pub use s3::S3Args;
pub use status::StatusArgs;
pub use up::UpArgs;
pub use validate::ValidateArgs;
