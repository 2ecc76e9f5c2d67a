//! [`Args`]: typed access to a golden case's `args` object that rejects every
//! argument nobody read.

use serde_json::{Map, Value};

/// Typed access to an `args` object that remembers which keys were read, so
/// [`Args::finish`] can reject the rest.
pub struct Args<'a> {
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
    ctx: String,
}

impl<'a> Args<'a> {
    /// Wraps `args` (must be a JSON object) of `ctx` (the class name).
    pub fn new(args: &'a Value, ctx: &str) -> Result<Self, String> {
        let map = args
            .as_object()
            .ok_or_else(|| format!("{ctx}: args is not an object"))?;
        Ok(Self {
            map,
            used: Vec::new(),
            ctx: ctx.to_string(),
        })
    }

    /// The value of `key`; JSON `null` (Python `None`) counts as absent.
    pub fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, want: &str) -> String {
        format!("{}: argument `{key}` is not {want}", self.ctx)
    }

    /// An optional number.
    pub fn f64(&mut self, key: &'a str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::Bool(b)) => Ok(Some(f64::from(u8::from(*b)))),
            Some(_) => Err(self.bad(key, "a number")),
        }
    }

    /// A number with a default.
    pub fn f64_or(&mut self, key: &'a str, default: f64) -> Result<f64, String> {
        Ok(self.f64(key)?.unwrap_or(default))
    }

    /// A required number.
    pub fn f64_req(&mut self, key: &'a str) -> Result<f64, String> {
        self.f64(key)?
            .ok_or_else(|| format!("{}: missing argument `{key}`", self.ctx))
    }

    /// An optional non-negative integer that fits `u32`.
    pub fn u32(&mut self, key: &'a str) -> Result<Option<u32>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .or_else(|| {
                    // Accept an integral float such as 10.0.
                    v.as_f64()
                        .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x <= f64::from(u32::MAX))
                        .map(|x| x as u32)
                })
                .map(Some)
                .ok_or_else(|| self.bad(key, "a non-negative integer below 2^32")),
        }
    }

    /// An integer with a default.
    pub fn u32_or(&mut self, key: &'a str, default: u32) -> Result<u32, String> {
        Ok(self.u32(key)?.unwrap_or(default))
    }

    /// A required integer.
    pub fn u32_req(&mut self, key: &'a str) -> Result<u32, String> {
        self.u32(key)?
            .ok_or_else(|| format!("{}: missing argument `{key}`", self.ctx))
    }

    /// A boolean with a default.
    pub fn bool_or(&mut self, key: &'a str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }

    /// A string with a default.
    pub fn str_or(&mut self, key: &'a str, default: &'a str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    /// A required list of numbers.
    pub fn f64_list(&mut self, key: &'a str) -> Result<Vec<f64>, String> {
        let bad = self.bad(key, "a list of numbers");
        match self.get(key) {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_f64().ok_or(bad.clone())).collect(),
            Some(_) => Err(bad),
            None => Err(format!("{}: missing argument `{key}`", self.ctx)),
        }
    }

    /// A required list of non-negative integers.
    pub fn u32_list(&mut self, key: &'a str) -> Result<Vec<u32>, String> {
        let bad = self.bad(key, "a list of non-negative integers");
        self.f64_list(key)?
            .into_iter()
            .map(|x| {
                (x.fract() == 0.0 && x >= 0.0 && x <= f64::from(u32::MAX))
                    .then_some(x as u32)
                    .ok_or(bad.clone())
            })
            .collect()
    }

    /// Fails on an argument that was not read, or on `last_epoch` other than -1
    /// (resuming mid-schedule is not what the golden files describe).
    pub fn finish(mut self) -> Result<(), String> {
        if let Some(v) = self.f64("last_epoch")? {
            if v != -1.0 {
                return Err(format!("{}: unsupported `last_epoch` {v}", self.ctx));
            }
        }
        let unused: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(&k.as_str()))
            .collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: unsupported argument(s) {unused:?}", self.ctx))
        }
    }
}
