//! One module per subcommand, each an args struct with `run(self)`.

mod build;
mod completion;
mod init;
mod invoke;
mod validate;

pub use build::BuildArgs;
pub use completion::CompletionArgs;
pub use init::InitArgs;
pub use invoke::InvokeArgs;
pub use validate::ValidateArgs;
