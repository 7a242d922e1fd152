//! duplex hardware, written with rust-hdl and emitted as Verilog.
//!
//! One block per file; [`card::Card`] is the top. [`verilog`] turns a card
//! configuration into the Verilog the co-simulation Verilates and the board
//! builds synthesise; [`check`] runs Yosys and Verilator lint over it.

pub mod card;
pub mod check;
pub mod dma_engine;
pub mod dma_model;
pub mod err_block;
pub mod flash_block;
pub mod formal;
pub mod id_block;
pub mod irq_block;
pub mod ntb_block;
pub mod ntb_inbound;
pub mod regport;
pub mod slot_allocator;
pub mod slot_allocator_model;
pub mod synth;
pub mod verilog;

pub use card::{Card, CardConfig, DATA_WIDTHS};
pub use verilog::{allocator_verilog, card_verilog, parse_ports, Port, PortDir};

/// Errors of the hardware crate.
#[derive(Debug)]
pub enum HdlError {
    /// A data-path width the card cannot be built with.
    UnsupportedWidth(usize),
    /// A slot count the allocator cannot be built with.
    UnsupportedSlots(u32),
    /// An external tool (yosys, verilator) could not be started.
    ToolMissing {
        tool: &'static str,
        source: std::io::Error,
    },
    /// An external tool ran and reported problems.
    ToolFailed { tool: &'static str, log: String },
    /// Writing a temporary or output file failed.
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl std::fmt::Display for HdlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HdlError::UnsupportedWidth(w) => {
                write!(
                    f,
                    "unsupported data-path width {w} bits (use 64, 128, 256 or 512)"
                )
            }
            HdlError::UnsupportedSlots(n) => write!(
                f,
                "unsupported allocator size {n} slots (use a power of two from 32 to 65536)"
            ),
            HdlError::ToolMissing { tool, source } => {
                write!(
                    f,
                    "cannot run {tool}: {source} (install it: apt-get install {tool})"
                )
            }
            HdlError::ToolFailed { tool, log } => write!(f, "{tool} reported problems:\n{log}"),
            HdlError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for HdlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HdlError::ToolMissing { source, .. } | HdlError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, HdlError>;
