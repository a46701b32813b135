"""The only package that talks to OCI: signing, credentials, endpoints, the HTTP client, Object Storage, Vault.

Everything above it (the chat, embeddings and ingestion services) calls OCI through here; nothing
outside it imports httpx except the chat image fetcher, which talks to the internet, not to OCI.
"""
