//! PCI addresses and configuration-space parsing (PCI Local Bus spec 3.0,
//! section 6.1: the type-0 configuration header).

use crate::error::{DriverError, Result};
use std::fmt;

/// `domain:bus:device.function`, e.g. `0000:03:00.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciAddress {
    pub domain: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

impl std::str::FromStr for PciAddress {
    type Err = DriverError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || DriverError::BadPciAddress(s.to_string());
        let (domain, rest) = s.split_once(':').ok_or_else(bad)?;
        let (bus, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (device, function) = rest.split_once('.').ok_or_else(bad)?;
        let hex = |t: &str, digits: usize| {
            if t.len() == digits && t.chars().all(|c| c.is_ascii_hexdigit()) {
                u16::from_str_radix(t, 16).map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let addr = PciAddress {
            domain: hex(domain, 4)?,
            bus: hex(bus, 2)? as u8,
            device: hex(device, 2)? as u8,
            function: hex(function, 1)? as u8,
        };
        // Section 6.1: 32 devices per bus, 8 functions per device.
        if addr.device > 31 || addr.function > 7 {
            return Err(bad());
        }
        Ok(addr)
    }
}

impl PciAddress {
    pub fn sysfs_path(&self) -> std::path::PathBuf {
        format!("/sys/bus/pci/devices/{self}").into()
    }
}

/// The fields of a type-0 configuration header the driver checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigHeader {
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision: u8,
    pub class_code: u32,
    pub header_type: u8,
    /// BAR0 base as programmed (memory BAR, flag bits masked off).
    pub bar0: u64,
    pub bar0_is_64bit: bool,
}

/// Parses the first 64 bytes of configuration space (section 6.1, figure 6-1).
pub fn parse_config_header(cfg: &[u8]) -> Result<ConfigHeader> {
    if cfg.len() < 64 {
        return Err(DriverError::ConfigSpace(format!(
            "{} bytes, the header needs 64",
            cfg.len()
        )));
    }
    let u16_at = |o: usize| u16::from_le_bytes([cfg[o], cfg[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([cfg[o], cfg[o + 1], cfg[o + 2], cfg[o + 3]]);
    let vendor_id = u16_at(0x00);
    if vendor_id == 0xFFFF {
        return Err(DriverError::ConfigSpace(
            "vendor ID 0xffff: no function at this address".into(),
        ));
    }
    let header_type = cfg[0x0E] & 0x7F;
    if header_type != 0 {
        return Err(DriverError::ConfigSpace(format!(
            "header type {header_type} is a bridge, not an endpoint"
        )));
    }
    let bar0_lo = u32_at(0x10);
    if bar0_lo & 1 != 0 {
        return Err(DriverError::ConfigSpace(
            "BAR0 is an I/O BAR, expected memory".into(),
        ));
    }
    // Section 6.2.5.1: bits 2:1 = 0b10 mark a 64-bit memory BAR.
    let bar0_is_64bit = (bar0_lo >> 1) & 3 == 2;
    let bar0 = if bar0_is_64bit {
        (bar0_lo & !0xF) as u64 | (u32_at(0x14) as u64) << 32
    } else {
        (bar0_lo & !0xF) as u64
    };
    Ok(ConfigHeader {
        vendor_id,
        device_id: u16_at(0x02),
        revision: cfg[0x08],
        class_code: u32_at(0x08) >> 8,
        header_type,
        bar0,
        bar0_is_64bit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_addresses_parse_and_print_back() {
        let a: PciAddress = "0000:3b:00.1".parse().unwrap();
        assert_eq!((a.bus, a.device, a.function), (0x3b, 0, 1));
        assert_eq!(a.to_string(), "0000:3b:00.1");
        for bad in [
            "0000:3b:00",
            "0:3b:00.0",
            "0000:3b:20.0",
            "0000:3b:00.8",
            "zzzz:00:00.0",
        ] {
            assert!(bad.parse::<PciAddress>().is_err(), "{bad}");
        }
    }

    fn header(vendor: u16, bar0_lo: u32, bar0_hi: u32) -> Vec<u8> {
        let mut c = vec![0u8; 64];
        c[0..2].copy_from_slice(&vendor.to_le_bytes());
        c[2..4].copy_from_slice(&0x7021u16.to_le_bytes());
        c[8..12].copy_from_slice(&0x0580_0001u32.to_le_bytes());
        c[0x10..0x14].copy_from_slice(&bar0_lo.to_le_bytes());
        c[0x14..0x18].copy_from_slice(&bar0_hi.to_le_bytes());
        c
    }

    #[test]
    fn config_header_with_a_64bit_bar0_is_parsed() {
        let h = parse_config_header(&header(0x10EE, 0xF000_000C, 0x1)).unwrap();
        assert_eq!((h.vendor_id, h.device_id, h.revision), (0x10EE, 0x7021, 1));
        assert_eq!(h.class_code, 0x05_8000);
        assert!(h.bar0_is_64bit);
        assert_eq!(h.bar0, 0x1_F000_0000);
    }

    #[test]
    fn absent_function_short_buffer_and_io_bar_are_rejected() {
        assert!(parse_config_header(&header(0xFFFF, 0, 0)).is_err());
        assert!(parse_config_header(&[0u8; 10]).is_err());
        assert!(parse_config_header(&header(0x10EE, 0xE001, 0)).is_err());
    }
}
