# Xilinx KC705 (XC7K325T-2 FFG900), pins per UG810 (as in the LiteX board
# file xilinx_kc705.py). Configuration mode switch SW13 = Master SPI.
set_property CFGBVS VCCO [current_design]
set_property CONFIG_VOLTAGE 2.5 [current_design]

# PCIe Gen2 x8 edge connector: 100 MHz reference clock, PERST#, GTX lanes 0..7.
set_property PACKAGE_PIN U8 [get_ports pcie_refclk_p]
set_property PACKAGE_PIN U7 [get_ports pcie_refclk_n]
create_clock -name pcie_refclk -period 10.000 [get_ports pcie_refclk_p]
set_property PACKAGE_PIN G25 [get_ports pcie_perst_n]
set_property IOSTANDARD LVCMOS25 [get_ports pcie_perst_n]
set_property PULLUP true [get_ports pcie_perst_n]
set_false_path -from [get_ports pcie_perst_n]
set_property PACKAGE_PIN M6  [get_ports {pcie_rx_p[0]}]
set_property PACKAGE_PIN P6  [get_ports {pcie_rx_p[1]}]
set_property PACKAGE_PIN R4  [get_ports {pcie_rx_p[2]}]
set_property PACKAGE_PIN T6  [get_ports {pcie_rx_p[3]}]
set_property PACKAGE_PIN V6  [get_ports {pcie_rx_p[4]}]
set_property PACKAGE_PIN W4  [get_ports {pcie_rx_p[5]}]
set_property PACKAGE_PIN Y6  [get_ports {pcie_rx_p[6]}]
set_property PACKAGE_PIN AA4 [get_ports {pcie_rx_p[7]}]
set_property PACKAGE_PIN L4  [get_ports {pcie_tx_p[0]}]
set_property PACKAGE_PIN M2  [get_ports {pcie_tx_p[1]}]
set_property PACKAGE_PIN N4  [get_ports {pcie_tx_p[2]}]
set_property PACKAGE_PIN P2  [get_ports {pcie_tx_p[3]}]
set_property PACKAGE_PIN T2  [get_ports {pcie_tx_p[4]}]
set_property PACKAGE_PIN U4  [get_ports {pcie_tx_p[5]}]
set_property PACKAGE_PIN V2  [get_ports {pcie_tx_p[6]}]
set_property PACKAGE_PIN Y2  [get_ports {pcie_tx_p[7]}]

# Quad SPI configuration flash (N25Q128A, U7); CCLK through STARTUPE2.
set_property PACKAGE_PIN U19 [get_ports flash_cs_n]
set_property PACKAGE_PIN P24 [get_ports flash_mosi]
set_property PACKAGE_PIN R25 [get_ports flash_miso]
set_property PACKAGE_PIN R20 [get_ports flash_wp_n]
set_property PACKAGE_PIN R21 [get_ports flash_hold_n]
set_property IOSTANDARD LVCMOS25 [get_ports {flash_cs_n flash_mosi flash_miso flash_wp_n flash_hold_n}]

# User LEDs GPIO_LED_0..3 (bank 33, 1.5 V).
set_property PACKAGE_PIN AB8 [get_ports {led[0]}]
set_property PACKAGE_PIN AA8 [get_ports {led[1]}]
set_property PACKAGE_PIN AC9 [get_ports {led[2]}]
set_property PACKAGE_PIN AB9 [get_ports {led[3]}]
set_property IOSTANDARD LVCMOS15 [get_ports {led[*]}]
