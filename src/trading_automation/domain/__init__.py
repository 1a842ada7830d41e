"""Domain vocabulary: enums, exact values and keys. Imports no database or HTTP code."""
