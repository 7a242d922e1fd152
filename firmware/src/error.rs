//! The crate's one error type (STYLE.md rule 7). `no_std`, so `Display` is
//! written by hand instead of derived with thiserror.

use core::fmt;

/// Why a host request or a partner input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The request has no sectors.
    Empty { lba: u64 },
    /// The request reaches past the end of the LUN.
    OutOfRange { lun: u32, lba: u64, sectors: u32 },
    /// The backing disk reported an error.
    Disk { lun: u32, lba: u64 },
    /// The disks refused this controller's epoch: the partner fenced it
    /// (DESIGN.md idea 9).
    Fenced { epoch: u32 },
    /// A metadata record from the partner failed validation.
    BadRecord(duplex_regs::LayoutError),
    /// A metadata record carried an epoch older than the current one.
    StaleEpoch { got: u32, current: u32 },
    /// A request forwarded to the partner was lost with it: its outcome is
    /// unknown (idea 8).
    PartnerLost,
    /// A configuration parameter is out of range.
    BadConfig(&'static str),
    /// A DMA descriptor completed with an error status.
    Dma { op: u8, status: u8 },
}

pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty { lba } => write!(f, "request at LBA {lba} has no sectors"),
            Error::OutOfRange { lun, lba, sectors } => write!(
                f,
                "request at LUN {lun} LBA {lba} for {sectors} sectors is past the end"
            ),
            Error::Disk { lun, lba } => write!(f, "disk error on LUN {lun} at LBA {lba}"),
            Error::Fenced { epoch } => {
                write!(f, "the partner fenced this controller (epoch {epoch})")
            }
            Error::BadRecord(e) => write!(f, "metadata record from the partner rejected: {e}"),
            Error::StaleEpoch { got, current } => {
                write!(
                    f,
                    "record of epoch {got} rejected, current epoch is {current}"
                )
            }
            Error::BadConfig(what) => write!(f, "bad configuration: {what}"),
            Error::PartnerLost => write!(f, "the partner serving this request was lost"),
            Error::Dma { op, status } => write!(
                f,
                "DMA opcode {op} failed: {}",
                duplex_regs::status::name(*status)
            ),
        }
    }
}
