//! The TOTP enrolment QR code, drawn on the server as inline SVG: the secret never leaves for
//! a third-party image service, and the page needs no script to show it.

use qrcodegen::{QrCode, QrCodeEcc};

/// An SVG of `text` as a QR code (one path of dark modules, a four-module quiet zone), or
/// `None` if the text is too long for any QR version.
pub fn svg(text: &str, label: &str) -> Option<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let border = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let dim = size + 2 * border;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {dim} {dim}\" role=\"img\" aria-label=\"{}\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>",
        maud::html! { (label) }.into_string()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_a_square_code_with_an_escaped_label() {
        let s = super::svg("otpauth://totp/Sejf:anna?secret=JBSWY3DPEHPK3PXP&issuer=Sejf", "a \"b\" <c>").unwrap_or_default();
        assert!(s.starts_with("<svg"));
        assert!(s.contains("aria-label=\"a &quot;b&quot; &lt;c&gt;\""));
        assert!(s.matches("h1v1h-1z").count() > 100);
    }
}
