"""OCI region names and their three-letter keys (pure data, no I/O)."""

from __future__ import annotations

# Three-letter region keys (as OCI_RESOURCE_PRINCIPAL_REGION may carry them) for the GenAI regions and neighbours.
REGION_KEYS: dict[str, str] = {
    "ord": "us-chicago-1", "iad": "us-ashburn-1", "phx": "us-phoenix-1", "sjc": "us-sanjose-1",
    "fra": "eu-frankfurt-1", "lhr": "uk-london-1", "cwl": "uk-cardiff-1", "ams": "eu-amsterdam-1",
    "zrh": "eu-zurich-1", "cdg": "eu-paris-1", "mrs": "eu-marseille-1", "lin": "eu-milan-1",
    "arn": "eu-stockholm-1", "mad": "eu-madrid-1", "gru": "sa-saopaulo-1", "vcp": "sa-vinhedo-1",
    "scl": "sa-santiago-1", "bog": "sa-bogota-1", "hyd": "ap-hyderabad-1", "bom": "ap-mumbai-1",
    "kix": "ap-osaka-1", "nrt": "ap-tokyo-1", "icn": "ap-seoul-1", "yny": "ap-chuncheon-1",
    "syd": "ap-sydney-1", "mel": "ap-melbourne-1", "sin": "ap-singapore-1", "yyz": "ca-toronto-1",
    "yul": "ca-montreal-1", "jed": "me-jeddah-1", "dxb": "me-dubai-1", "auh": "me-abudhabi-1",
    "ruh": "me-riyadh-1", "mtz": "il-jerusalem-1", "jnb": "af-johannesburg-1", "qro": "mx-queretaro-1",
    "mty": "mx-monterrey-1", "ltn": "uk-gov-london-1", "brs": "uk-gov-cardiff-1", "ric": "us-gov-ashburn-1",
    "pia": "us-gov-chicago-1", "tus": "us-gov-phoenix-1", "str": "eu-frankfurt-2", "vll": "eu-madrid-2",
}


def normalize_region(region: str) -> str:
    """``ORD`` / ``ord`` / ``us-chicago-1`` -> ``us-chicago-1``."""
    value = region.strip().lower()
    return REGION_KEYS.get(value, value)
