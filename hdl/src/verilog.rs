//! Verilog emission for the card top, and the port list read back from it.

use crate::card::{Card, CardConfig};
use crate::slot_allocator::SlotAllocator;
use crate::{HdlError, Result};
use rust_hdl::prelude::*;

/// Verilog for a card of `width` bits with configuration `cfg`. The root
/// module is named `top` (rust-hdl's convention).
pub fn card_verilog(width: usize, cfg: CardConfig) -> Result<String> {
    fn gen<const W: usize, const S: usize>(cfg: CardConfig) -> String {
        let mut uut = Card::<W, S>::new(cfg);
        uut.connect_all();
        generate_verilog(&uut)
    }
    match width {
        64 => Ok(gen::<64, 8>(cfg)),
        128 => Ok(gen::<128, 16>(cfg)),
        256 => Ok(gen::<256, 32>(cfg)),
        512 => Ok(gen::<512, 64>(cfg)),
        w => Err(HdlError::UnsupportedWidth(w)),
    }
}

/// Verilog for a stand-alone mirror-slot allocator of `max_slots` slots (a
/// power of two, 32..=65,536), root module `top`. Used by the allocator's
/// own Verilator tests, its formal proof and its resource figures.
pub fn allocator_verilog(max_slots: u32) -> Result<String> {
    fn gen<const SB: usize, const BB: usize>() -> String {
        let mut uut = SlotAllocator::<SB, BB>::new();
        uut.connect_all();
        generate_verilog(&uut)
    }
    Ok(match max_slots {
        32 => gen::<5, 1>(),
        64 => gen::<6, 2>(),
        128 => gen::<7, 3>(),
        256 => gen::<8, 4>(),
        512 => gen::<9, 5>(),
        1024 => gen::<10, 6>(),
        2048 => gen::<11, 7>(),
        4096 => gen::<12, 8>(),
        8192 => gen::<13, 9>(),
        16384 => gen::<14, 10>(),
        32768 => gen::<15, 11>(),
        65536 => gen::<16, 12>(),
        n => return Err(HdlError::UnsupportedSlots(n)),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortDir {
    Input,
    Output,
}

/// One port of the root module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub dir: PortDir,
    pub width: usize,
}

/// Reads the port list of module `top` from Verilog text emitted by rust-hdl
/// (`input wire [255:0] name,` one per line). The co-simulation generates its
/// C ABI from this list, so the port list is never written by hand twice.
pub fn parse_ports(verilog: &str) -> Vec<Port> {
    let mut ports = Vec::new();
    let mut in_top = false;
    for line in verilog.lines() {
        let t = line.trim();
        if t.starts_with("module top(") || t.starts_with("module top (") {
            in_top = true;
            continue;
        }
        if !in_top {
            continue;
        }
        if t.starts_with("// Constant declarations") || t.starts_with("endmodule") {
            break;
        }
        let (dir, rest) = if let Some(r) = t.strip_prefix("input ") {
            (PortDir::Input, r)
        } else if let Some(r) = t.strip_prefix("output ") {
            (PortDir::Output, r)
        } else {
            continue;
        };
        let rest = rest
            .trim_start_matches("wire ")
            .trim_start_matches("reg ")
            .trim()
            .trim_end_matches([',', ';'])
            .trim();
        let (width, name) = if let Some(r) = rest.strip_prefix('[') {
            let (range, name) = r.split_once(']').unwrap_or(("0:0", r));
            let msb: usize = range
                .split(':')
                .next()
                .and_then(|m| m.trim().parse().ok())
                .unwrap_or(0);
            (msb + 1, name.trim())
        } else {
            (1, rest)
        };
        ports.push(Port {
            name: name.to_string(),
            dir,
            width,
        });
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ports_are_read_back_with_their_widths() {
        let v = card_verilog(256, CardConfig::default()).unwrap();
        let ports = parse_ports(&v);
        let find = |n: &str| ports.iter().find(|p| p.name == n).cloned();
        assert_eq!(find("clock").unwrap().width, 1);
        assert_eq!(find("bar_req_addr").unwrap().width, 16);
        let tx = find("ntb_tx_data").unwrap();
        assert_eq!((tx.dir, tx.width), (PortDir::Output, 256));
        assert_eq!(find("dma_wr_strb").unwrap().width, 32);
        assert_eq!(find("irq").unwrap().dir, PortDir::Output);
    }

    #[test]
    fn allocator_slot_counts_must_be_powers_of_two_up_to_65536() {
        assert!(matches!(
            allocator_verilog(1000),
            Err(HdlError::UnsupportedSlots(1000))
        ));
        assert!(matches!(
            allocator_verilog(1 << 17),
            Err(HdlError::UnsupportedSlots(_))
        ));
        let v = allocator_verilog(32).unwrap();
        let ports = parse_ports(&v);
        assert!(ports
            .iter()
            .any(|p| p.name == "dma_rsp_slots" && p.width == 256));
    }

    #[test]
    fn unsupported_width_is_a_typed_error() {
        assert!(matches!(
            card_verilog(96, CardConfig::default()),
            Err(HdlError::UnsupportedWidth(96))
        ));
    }
}
