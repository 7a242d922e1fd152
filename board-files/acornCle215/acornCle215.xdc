# SQRL Acorn CLE-215+ / NiteFury (XC7A200T-3 FBG484). Pins as published in
# the LiteX board file for this card (sqrl_acorn.py).
set_property CFGBVS VCCO [current_design]
set_property CONFIG_VOLTAGE 3.3 [current_design]

# PCIe Gen2 x4 over M.2: 100 MHz reference clock, PERST#, GTP lanes 0..3.
set_property PACKAGE_PIN F6 [get_ports pcie_refclk_p]
set_property PACKAGE_PIN E6 [get_ports pcie_refclk_n]
create_clock -name pcie_refclk -period 10.000 [get_ports pcie_refclk_p]
set_property PACKAGE_PIN J1 [get_ports pcie_perst_n]
set_property IOSTANDARD LVCMOS33 [get_ports pcie_perst_n]
set_property PULLUP true [get_ports pcie_perst_n]
set_false_path -from [get_ports pcie_perst_n]
set_property PACKAGE_PIN B10 [get_ports {pcie_rx_p[0]}]
set_property PACKAGE_PIN B8  [get_ports {pcie_rx_p[1]}]
set_property PACKAGE_PIN D11 [get_ports {pcie_rx_p[2]}]
set_property PACKAGE_PIN D9  [get_ports {pcie_rx_p[3]}]
set_property PACKAGE_PIN B6  [get_ports {pcie_tx_p[0]}]
set_property PACKAGE_PIN B4  [get_ports {pcie_tx_p[1]}]
set_property PACKAGE_PIN D5  [get_ports {pcie_tx_p[2]}]
set_property PACKAGE_PIN D7  [get_ports {pcie_tx_p[3]}]

# Configuration SPI flash (CCLK is driven through STARTUPE2).
set_property PACKAGE_PIN T19 [get_ports flash_cs_n]
set_property PACKAGE_PIN P22 [get_ports flash_mosi]
set_property PACKAGE_PIN R22 [get_ports flash_miso]
set_property PACKAGE_PIN P21 [get_ports flash_wp_n]
set_property PACKAGE_PIN R21 [get_ports flash_hold_n]
set_property IOSTANDARD LVCMOS33 [get_ports {flash_cs_n flash_mosi flash_miso flash_wp_n flash_hold_n}]

# User LEDs.
set_property PACKAGE_PIN G3 [get_ports {led[0]}]
set_property PACKAGE_PIN H3 [get_ports {led[1]}]
set_property PACKAGE_PIN G4 [get_ports {led[2]}]
set_property PACKAGE_PIN H4 [get_ports {led[3]}]
set_property IOSTANDARD LVCMOS33 [get_ports {led[*]}]
