{
  "targets": [
    {
      "target_name": "mcumgr_native",
      "variables": { "mcumgr_werror%": 1 },
      "sources": [
        "native/addon.cc",
        "native/codec_crc16.cc",
        "native/codec_base64.cc",
        "native/codec_console.cc",
        "native/codec_cobs.cc",
        "native/codec_raw.cc",
        "native/serial_io.cc",
        "native/serial_port.cc",
        "native/serial_pty.cc",
        "native/serial_termios.cc"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-Wall", "-Wextra", "-Wunused-parameter",
        "-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"
      ],
      "conditions": [
        ["mcumgr_werror==1", {
          "cflags_cc": ["-Werror"],
          "xcode_settings": { "GCC_TREAT_WARNINGS_AS_ERRORS": "YES" }
        }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": [
          "-Wall", "-Wextra",
          "-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"
        ]
      }
    }
  ]
}
