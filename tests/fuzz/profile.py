"""The hypothesis settings every fuzz test shares: reproducible, no deadline, no example database."""
from hypothesis import HealthCheck, settings

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
