"""Use cases of the register. Each public function is one transaction, audited where it touches case data."""
