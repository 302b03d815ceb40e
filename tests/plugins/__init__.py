"""Strategy modules that live outside ``domain.strategies``, loaded by module path in the tests."""
