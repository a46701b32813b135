# Vector stores (optional): every input bucket also becomes a searchable store in PostgreSQL with pgvector.
# vector_store = "create": an OCI Database with PostgreSQL system in the functions subnet, pgvector allowed by its
# configuration, its admin password and the functions' connection string in Vault, port 5432 open from the functions
# subnet only. vector_store = "existing": vector_store_url_secret_ocid names a Vault secret holding a connection string.

locals {
  vector_store_enabled = var.vector_store != "none"
  create_database      = var.vector_store == "create"
  database_vcn_id      = local.create_network ? oci_core_vcn.main[0].id : var.database_vcn_id
  database_url_secret  = local.create_database ? oci_vault_secret.vector_store_url[0].id : var.vector_store_url_secret_ocid
}

resource "oci_psql_configuration" "vector" {
  count                       = local.create_database ? 1 : 0
  compartment_id              = var.compartment_ocid
  display_name                = "${var.name_prefix}-pgvector"
  description                 = "Allows the pgvector extension (vector) for the ${var.name_prefix} vector stores"
  db_version                  = var.database_version
  shape                       = var.database_shape
  is_flexible                 = true
  instance_ocpu_count         = var.database_ocpus
  instance_memory_size_in_gbs = var.database_memory_gbs
  freeform_tags               = local.tags

  db_configuration_overrides {
    items {
      config_key             = "oci.allowed_extensions"
      overriden_config_value = "vector"
    }
  }
}

resource "oci_core_network_security_group" "database" {
  count          = local.create_database ? 1 : 0
  compartment_id = var.compartment_ocid
  vcn_id         = local.database_vcn_id
  display_name   = "${var.name_prefix}-database-nsg"
  freeform_tags  = local.tags
}

resource "oci_core_network_security_group_security_rule" "database_from_functions" {
  count = local.create_database ? 1 : 0
  # checkov:skip=CKV_OCI_21:Stateful on purpose: PostgreSQL answers on the clients' ephemeral ports, which stateless rules would have to open as mirrored egress.
  network_security_group_id = oci_core_network_security_group.database[0].id
  description               = "PostgreSQL from the functions subnet only"
  direction                 = "INGRESS"
  protocol                  = "6"
  source                    = var.functions_subnet_cidr
  source_type               = "CIDR_BLOCK"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = 5432
      max = 5432
    }
  }
}

# The admin password, in Vault: the database service reads it at creation, the connection string below embeds it.
resource "oci_vault_secret" "database_admin" {
  count          = local.create_database ? 1 : 0
  compartment_id = local.vault_compartment_ocid
  vault_id       = local.vault_id
  key_id         = local.vault_key_id
  secret_name    = "${var.name_prefix}-database-admin"
  description    = "Admin password of the ${var.name_prefix} vector-store database"
  freeform_tags  = local.tags

  secret_content {
    content_type = "BASE64"
    content      = base64encode(var.database_admin_password)
  }
}

resource "oci_psql_db_system" "vector" {
  count                       = local.create_database ? 1 : 0
  compartment_id              = var.compartment_ocid
  display_name                = "${var.name_prefix}-vector-stores"
  description                 = "Vector stores of the ${var.name_prefix} gateway (pgvector)"
  db_version                  = var.database_version
  shape                       = var.database_shape
  instance_count              = 1
  instance_ocpu_count         = var.database_ocpus
  instance_memory_size_in_gbs = var.database_memory_gbs
  config_id                   = oci_psql_configuration.vector[0].id
  freeform_tags               = local.tags

  network_details {
    subnet_id = local.functions_subnet_id
    nsg_ids   = [oci_core_network_security_group.database[0].id]
  }

  storage_details {
    is_regionally_durable = true
    system_type           = "OCI_OPTIMIZED_STORAGE"
  }

  credentials {
    username = var.database_admin_username
    password_details {
      password_type  = "VAULT_SECRET"
      secret_id      = oci_vault_secret.database_admin[0].id
      secret_version = "1"
    }
  }
}

# What the functions connect with: TLS required (sslmode=require), the primary endpoint's private address.
resource "oci_vault_secret" "vector_store_url" {
  count          = local.create_database ? 1 : 0
  compartment_id = local.vault_compartment_ocid
  vault_id       = local.vault_id
  key_id         = local.vault_key_id
  secret_name    = "${var.name_prefix}-vector-store-url"
  description    = "PostgreSQL connection string of the ${var.name_prefix} vector stores (VECTOR_STORE_URL_SECRET_OCID)"
  freeform_tags  = local.tags

  secret_content {
    content_type = "BASE64"
    content = base64encode(format("postgresql://%s:%s@%s:5432/postgres?sslmode=require", var.database_admin_username,
    urlencode(var.database_admin_password), oci_psql_db_system.vector[0].network_details[0].primary_db_endpoint_private_ip))
  }
}

