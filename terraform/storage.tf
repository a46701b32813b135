# Input documents (object events on, versioned) and the ingestion output. Neither is public.

data "oci_objectstorage_namespace" "this" {
  compartment_id = var.tenancy_ocid
}

resource "oci_objectstorage_bucket" "input" {
  # checkov:skip=CKV_OCI_9:Oracle-managed encryption by default; set bucket_kms_key_id for a customer-managed key (it needs an Object Storage service policy on the key).
  compartment_id        = var.compartment_ocid
  namespace             = data.oci_objectstorage_namespace.this.namespace
  name                  = local.input_bucket_name
  access_type           = "NoPublicAccess"
  object_events_enabled = true
  # The source documents are the only copy: versions protect them from accidental overwrite or delete.
  versioning    = "Enabled"
  kms_key_id    = var.bucket_kms_key_id
  freeform_tags = local.tags
}

resource "oci_objectstorage_bucket" "output" {
  # checkov:skip=CKV_OCI_9:Oracle-managed encryption by default; set bucket_kms_key_id for a customer-managed key (it needs an Object Storage service policy on the key).
  # checkov:skip=CKV_OCI_8:Derived data: every object is regenerated from the versioned input bucket, so versions would only keep stale embeddings (and delete-on-source could not really delete).
  # checkov:skip=CKV_OCI_7:No rule consumes output events; emitting them would only create noise (and a loop risk if someone points the ingest rule here).
  compartment_id        = var.compartment_ocid
  namespace             = data.oci_objectstorage_namespace.this.namespace
  name                  = local.output_bucket_name
  access_type           = "NoPublicAccess"
  object_events_enabled = false
  versioning            = "Disabled"
  kms_key_id            = var.bucket_kms_key_id
  freeform_tags         = local.tags
}
