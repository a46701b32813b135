# A VCN with a private subnet for the functions (service gateway to Oracle services, optional NAT) and a subnet for
# the API Gateway (public with an internet gateway, or private). Nothing here when existing_network is given.

data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

locals {
  # Generative AI, Object Storage, Vault, OCIR and the Functions invoke endpoint are all in this service CIDR.
  oracle_services_cidr = data.oci_core_services.all.services[0].cidr_block
}

resource "oci_core_vcn" "main" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-vcn"
  cidr_blocks    = [var.vcn_cidr]
  dns_label      = substr(replace(var.name_prefix, "-", ""), 0, 15)
  freeform_tags  = local.tags
}

resource "oci_core_service_gateway" "main" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-sgw"
  freeform_tags  = local.tags

  services {
    service_id = data.oci_core_services.all.services[0].id
  }
}

resource "oci_core_nat_gateway" "main" {
  count          = local.create_network && var.enable_nat_gateway ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-nat"
  freeform_tags  = local.tags
}

resource "oci_core_internet_gateway" "main" {
  count          = local.create_network && local.public_api ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-igw"
  enabled        = true
  freeform_tags  = local.tags
}

resource "oci_core_route_table" "private" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-private-rt"
  freeform_tags  = local.tags

  route_rules {
    description       = "Oracle services (Generative AI, Object Storage, Vault, OCIR, Functions)"
    destination       = local.oracle_services_cidr
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.main[0].id
  }

  dynamic "route_rules" {
    for_each = var.enable_nat_gateway ? [1] : []
    content {
      description       = "Everything else through NAT"
      destination       = "0.0.0.0/0"
      destination_type  = "CIDR_BLOCK"
      network_entity_id = oci_core_nat_gateway.main[0].id
    }
  }
}

resource "oci_core_route_table" "public" {
  count          = local.create_network && local.public_api ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-public-rt"
  freeform_tags  = local.tags

  route_rules {
    description       = "Internet, for the public API Gateway"
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_internet_gateway.main[0].id
  }
}

resource "oci_core_security_list" "functions" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-functions-sl"
  freeform_tags  = local.tags

  # checkov:skip=CKV_OCI_17:Stateful on purpose: the only ingress is ICMP path-MTU from the VCN, and stateful rules need no mirrored egress.
  ingress_security_rules {
    description = "Path MTU discovery inside the VCN"
    protocol    = "1"
    source      = var.vcn_cidr
    stateless   = false

    icmp_options {
      type = 3
      code = 4
    }
  }

  egress_security_rules {
    description      = "HTTPS to Oracle services through the service gateway"
    protocol         = "6"
    destination      = local.oracle_services_cidr
    destination_type = "SERVICE_CIDR_BLOCK"
    stateless        = false

    tcp_options {
      min = 443
      max = 443
    }
  }

  dynamic "egress_security_rules" {
    for_each = var.vector_store == "create" ? [1] : []
    content {
      description      = "PostgreSQL to the vector-store database in this subnet (database.tf)"
      protocol         = "6"
      destination      = var.functions_subnet_cidr
      destination_type = "CIDR_BLOCK"
      stateless        = false

      tcp_options {
        min = 5432
        max = 5432
      }
    }
  }

  dynamic "egress_security_rules" {
    for_each = var.enable_nat_gateway ? [1] : []
    content {
      description      = "HTTPS through the NAT gateway"
      protocol         = "6"
      destination      = "0.0.0.0/0"
      destination_type = "CIDR_BLOCK"
      stateless        = false

      tcp_options {
        min = 443
        max = 443
      }
    }
  }
}

resource "oci_core_security_list" "api_gateway" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-apigw-sl"
  freeform_tags  = local.tags

  # checkov:skip=CKV_OCI_17:Stateful HTTPS ingress is what API Gateway needs; stateless would require mirrored egress to every client port.
  dynamic "ingress_security_rules" {
    for_each = var.api_client_cidrs
    content {
      description = "HTTPS from API clients"
      protocol    = "6"
      source      = ingress_security_rules.value
      stateless   = false

      tcp_options {
        min = 443
        max = 443
      }
    }
  }

  egress_security_rules {
    description      = "HTTPS to the Functions invoke endpoint (and the JWKS URI in jwt mode)"
    protocol         = "6"
    destination      = local.public_api ? "0.0.0.0/0" : local.oracle_services_cidr
    destination_type = local.public_api ? "CIDR_BLOCK" : "SERVICE_CIDR_BLOCK"
    stateless        = false

    tcp_options {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_subnet" "functions" {
  count                      = local.create_network ? 1 : 0
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main[0].id
  display_name               = "${var.name_prefix}-functions"
  cidr_block                 = var.functions_subnet_cidr
  dns_label                  = "functions"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.private[0].id
  security_list_ids          = [oci_core_security_list.functions[0].id]
  freeform_tags              = local.tags
}

resource "oci_core_subnet" "api_gateway" {
  count                      = local.create_network ? 1 : 0
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main[0].id
  display_name               = "${var.name_prefix}-apigw"
  cidr_block                 = var.api_gateway_subnet_cidr
  dns_label                  = "apigw"
  prohibit_public_ip_on_vnic = !local.public_api
  route_table_id             = local.public_api ? oci_core_route_table.public[0].id : oci_core_route_table.private[0].id
  security_list_ids          = [oci_core_security_list.api_gateway[0].id]
  freeform_tags              = local.tags
}
