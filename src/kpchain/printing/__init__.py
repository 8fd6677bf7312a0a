"""The printable KP certificate: `pdf.render_certificate` renders it from the certificate and
document views; `pdf.verification_link` is the address its QR code opens."""
