# A VCN with a private subnet for the functions (service gateway and/or NAT, var.egress) and a subnet for
# the API Gateway (public with an internet gateway, or private). Nothing here when existing_network is given.

data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

locals {
  # Object Storage, Vault, OCIR and the Functions invoke endpoint are in this service CIDR; whether Generative AI
  # inference is reachable through it is documented nowhere (var.egress).
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
  count          = local.create_network && local.use_service_gateway ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-sgw"
  freeform_tags  = local.tags

  services {
    service_id = data.oci_core_services.all.services[0].id
  }
}

resource "oci_core_nat_gateway" "main" {
  count          = local.create_network && local.use_nat ? 1 : 0
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

  dynamic "route_rules" {
    for_each = local.use_service_gateway ? [1] : []
    content {
      description       = "Oracle services of this region through the service gateway"
      destination       = local.oracle_services_cidr
      destination_type  = "SERVICE_CIDR_BLOCK"
      network_entity_id = oci_core_service_gateway.main[0].id
    }
  }

  dynamic "route_rules" {
    for_each = local.use_nat ? [1] : []
    content {
      description       = "Everything else (Generative AI in another region, JWKS, image_url fetches) through NAT"
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

# Stateless rules only, as Oracle recommends for a functions subnet (connection tracking caps concurrent
# connections): HTTPS out, and its replies (source port 443) back in on the ephemeral ports.
resource "oci_core_security_list" "functions" {
  count          = local.create_network ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-functions-sl"
  freeform_tags  = local.tags

  ingress_security_rules {
    description = "Path MTU discovery"
    protocol    = "1"
    source      = "0.0.0.0/0"
    stateless   = true

    icmp_options {
      type = 3
      code = 4
    }
  }

  dynamic "ingress_security_rules" {
    for_each = local.functions_egress
    content {
      description = "Replies from ${ingress_security_rules.value.what}"
      protocol    = "6"
      source      = ingress_security_rules.value.cidr
      source_type = ingress_security_rules.value.type
      stateless   = true

      tcp_options {
        min = 1024
        max = 65535

        source_port_range {
          min = 443
          max = 443
        }
      }
    }
  }

  dynamic "ingress_security_rules" {
    for_each = var.vector_store == "create" ? [1] : []
    content {
      description = "Replies from the vector-store database in this subnet"
      protocol    = "6"
      source      = var.functions_subnet_cidr
      source_type = "CIDR_BLOCK"
      stateless   = true

      tcp_options {
        min = 1024
        max = 65535

        source_port_range {
          min = 5432
          max = 5432
        }
      }
    }
  }

  dynamic "egress_security_rules" {
    for_each = var.vector_store == "create" ? [1] : []
    content {
      description      = "PostgreSQL to the vector-store database in this subnet (database.tf)"
      protocol         = "6"
      destination      = var.functions_subnet_cidr
      destination_type = "CIDR_BLOCK"
      stateless        = true

      tcp_options {
        min = 5432
        max = 5432
      }
    }
  }

  dynamic "egress_security_rules" {
    for_each = local.functions_egress
    content {
      description      = "HTTPS to ${egress_security_rules.value.what}"
      protocol         = "6"
      destination      = egress_security_rules.value.cidr
      destination_type = egress_security_rules.value.type
      stateless        = true

      tcp_options {
        min = 443
        max = 443
      }
    }
  }
}

locals {
  # Where HTTPS from the functions subnet may go: the service gateway's CIDR label and/or anywhere through NAT.
  functions_egress = concat(
    local.use_service_gateway ? [{ what = "Oracle services through the service gateway", cidr = local.oracle_services_cidr, type = "SERVICE_CIDR_BLOCK" }] : [],
    local.use_nat ? [{ what = "the internet through NAT", cidr = "0.0.0.0/0", type = "CIDR_BLOCK" }] : [],
  )
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

  dynamic "egress_security_rules" {
    for_each = local.streaming ? [local.streaming_balance ? local.streaming_listener_port : local.streaming_container_port] : []
    content {
      description      = "HTTP to the streaming back end inside the VCN"
      protocol         = "6"
      destination      = var.streaming_subnet_cidr
      destination_type = "CIDR_BLOCK"
      stateless        = false

      tcp_options {
        min = egress_security_rules.value
        max = egress_security_rules.value
      }
    }
  }

  # A PUBLIC gateway reaches the Functions invoke endpoint (and a JWKS URI) through the internet gateway; a PRIVATE
  # one through the private route table (service gateway and/or NAT).
  dynamic "egress_security_rules" {
    for_each = local.public_api ? [{ what = "the internet", cidr = "0.0.0.0/0", type = "CIDR_BLOCK" }] : local.functions_egress
    content {
      description      = "HTTPS to the Functions invoke endpoint and the JWKS URI (jwt): ${egress_security_rules.value.what}"
      protocol         = "6"
      destination      = egress_security_rules.value.cidr
      destination_type = egress_security_rules.value.type
      stateless        = false

      tcp_options {
        min = 443
        max = 443
      }
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
