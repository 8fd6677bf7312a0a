"""The certificate domain: on-chain encoding of the document, EIP-712 typed data, validation."""
