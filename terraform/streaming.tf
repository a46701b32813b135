# Optional real streaming (var.streaming): OCI Functions answers a stream all at once, so the routes of
# local.api_routes marked `streams` can be served by the `asgi` image on OCI Container Instances instead, behind the
# same API Gateway deployment (same authentication, same identity headers) as an HTTP back end: one container at a
# fixed private IP, or a private load balancer in front of several. The containers use their resource principal
# (version 2.2) with the gateway role's grants (iam.tf).

data "oci_identity_availability_domains" "all" {
  count          = local.streaming && var.streaming_availability_domain == null ? 1 : 0
  compartment_id = var.tenancy_ocid
}

locals {
  streaming         = var.streaming != "off"
  streaming_balance = var.streaming == "load_balancer"
  streaming_subnet  = local.create_network ? (local.streaming ? oci_core_subnet.streaming[0].id : null) : var.streaming_subnet_id
  streaming_ips = length(var.streaming_private_ips) > 0 ? var.streaming_private_ips : [
    for index in range(var.streaming_instance_count) : cidrhost(var.streaming_subnet_cidr, 10 + index)
  ]
  # A digest pins the exact image: repository@sha256:..., without the tag.
  streaming_image_url = var.streaming_image_digest == null ? var.streaming_image : "${replace(coalesce(var.streaming_image, "unset"), "/:[^:/]+$/", "")}@${var.streaming_image_digest}"
  # The gateway role's configuration, plus a request deadline inside API Gateway's 300 s read timeout.
  streaming_environment = merge(
    { for k, v in local.app_config : k => v if v != null },
    { for k, v in local.function_config.gateway : k => v if v != null },
    { REQUEST_TIMEOUT_SECONDS = "290" },
  )
  streaming_container_port = 8080
  streaming_listener_port  = 80
  # What API Gateway calls for a streaming route (plain HTTP inside the VCN).
  streaming_base_url = !local.streaming ? null : (local.streaming_balance ?
    "http://${oci_load_balancer_load_balancer.streaming[0].ip_address_details[0].ip_address}:${local.streaming_listener_port}" :
  "http://${local.streaming_ips[0]}:${local.streaming_container_port}")
}

resource "oci_container_instances_container_instance" "streaming" {
  count                    = local.streaming ? var.streaming_instance_count : 0
  compartment_id           = var.compartment_ocid
  availability_domain      = var.streaming_availability_domain != null ? var.streaming_availability_domain : element(data.oci_identity_availability_domains.all[0].availability_domains[*].name, count.index)
  display_name             = "${var.name_prefix}-streaming-${count.index}"
  shape                    = var.streaming_shape.shape
  container_restart_policy = "ALWAYS"
  freeform_tags            = local.tags

  shape_config {
    ocpus         = var.streaming_shape.ocpus
    memory_in_gbs = var.streaming_shape.memory_in_gbs
  }

  vnics {
    subnet_id             = local.streaming_subnet
    private_ip            = local.streaming_ips[count.index]
    is_public_ip_assigned = false
    display_name          = "${var.name_prefix}-streaming-${count.index}"
  }

  containers {
    display_name                   = "gateway"
    image_url                      = local.streaming_image_url
    environment_variables          = local.streaming_environment
    is_resource_principal_disabled = false
  }
}

resource "oci_load_balancer_load_balancer" "streaming" {
  count          = local.streaming_balance ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-streaming-lb"
  shape          = "flexible"
  subnet_ids     = [local.streaming_subnet]
  is_private     = true
  freeform_tags  = local.tags

  shape_details {
    minimum_bandwidth_in_mbps = 10
    maximum_bandwidth_in_mbps = 100
  }
}

resource "oci_load_balancer_backend_set" "streaming" {
  count            = local.streaming_balance ? 1 : 0
  load_balancer_id = oci_load_balancer_load_balancer.streaming[0].id
  name             = "streaming"
  policy           = "LEAST_CONNECTIONS"

  # /health checks the configuration without calling a model.
  health_checker {
    protocol    = "HTTP"
    port        = local.streaming_container_port
    url_path    = "/health"
    return_code = 200
  }
}

resource "oci_load_balancer_backend" "streaming" {
  count            = local.streaming_balance ? var.streaming_instance_count : 0
  load_balancer_id = oci_load_balancer_load_balancer.streaming[0].id
  backendset_name  = oci_load_balancer_backend_set.streaming[0].name
  ip_address       = local.streaming_ips[count.index]
  port             = local.streaming_container_port
}

resource "oci_load_balancer_listener" "streaming" {
  count                    = local.streaming_balance ? 1 : 0
  load_balancer_id         = oci_load_balancer_load_balancer.streaming[0].id
  name                     = "http"
  default_backend_set_name = oci_load_balancer_backend_set.streaming[0].name
  port                     = local.streaming_listener_port
  protocol                 = "HTTP"

  # A generation can pause for a while between tokens; API Gateway waits up to 300 s.
  connection_configuration {
    idle_timeout_in_seconds = "300"
  }
}

resource "oci_identity_dynamic_group" "streaming" {
  count          = local.streaming ? 1 : 0
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.dynamic_group_names.streaming
  description    = "The ${var.name_prefix} streaming container instances"
  matching_rule = "ANY {${join(", ", [for instance in oci_container_instances_container_instance.streaming :
  "ALL {resource.type = 'computecontainerinstance', resource.id = '${instance.id}'}"])}}"
  freeform_tags = local.tags
}

# The streaming subnet: private, through the same route table as the functions. API Gateway (and the load balancer
# inside this subnet) connect in; HTTPS goes out to OCI.
resource "oci_core_security_list" "streaming" {
  count          = local.create_network && local.streaming ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main[0].id
  display_name   = "${var.name_prefix}-streaming-sl"
  freeform_tags  = local.tags

  # checkov:skip=CKV_OCI_17:Stateful on purpose: API Gateway and the load balancer open connections in; stateless rules would need mirrored egress to every ephemeral port of both.
  dynamic "ingress_security_rules" {
    for_each = local.streaming_balance ? [
      { what = "API Gateway to the load balancer", source = var.api_gateway_subnet_cidr, port = local.streaming_listener_port },
      { what = "the load balancer to the containers", source = var.streaming_subnet_cidr, port = local.streaming_container_port },
      ] : [
      { what = "API Gateway to the container", source = var.api_gateway_subnet_cidr, port = local.streaming_container_port },
    ]
    content {
      description = ingress_security_rules.value.what
      protocol    = "6"
      source      = ingress_security_rules.value.source
      stateless   = false

      tcp_options {
        min = ingress_security_rules.value.port
        max = ingress_security_rules.value.port
      }
    }
  }

  dynamic "egress_security_rules" {
    for_each = concat(local.functions_egress, local.streaming_balance ? [{ what = "the containers (load balancer)", cidr = var.streaming_subnet_cidr, type = "CIDR_BLOCK" }] : [])
    content {
      description      = "To ${egress_security_rules.value.what}"
      protocol         = "6"
      destination      = egress_security_rules.value.cidr
      destination_type = egress_security_rules.value.type
      stateless        = false

      tcp_options {
        min = egress_security_rules.value.type == "CIDR_BLOCK" && egress_security_rules.value.cidr == var.streaming_subnet_cidr ? local.streaming_container_port : 443
        max = egress_security_rules.value.type == "CIDR_BLOCK" && egress_security_rules.value.cidr == var.streaming_subnet_cidr ? local.streaming_container_port : 443
      }
    }
  }
}

resource "oci_core_subnet" "streaming" {
  count                      = local.create_network && local.streaming ? 1 : 0
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main[0].id
  display_name               = "${var.name_prefix}-streaming"
  cidr_block                 = var.streaming_subnet_cidr
  dns_label                  = "streaming"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.private[0].id
  security_list_ids          = [oci_core_security_list.streaming[0].id]
  freeform_tags              = local.tags
}
